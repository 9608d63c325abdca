import LinuxSystem

/// Why a disk image cannot be read, written or mapped: one line naming the file and the fault.
///
/// Examples: `app.vhdx: log needs replay (header LogGuid is set); …`,
/// `app.vhd: footer checksum is 0x1234abcd, expected 0x5678ef01`.
public struct DiskImageError: AppAttachError, Equatable, Sendable {
    /// The image file the message is about.
    public let path: String
    /// What is wrong, without the path.
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}

/// A structure that breaks its format's rules, found by a decoder that does not know the file name.
///
/// The reader and writer turn it into a `DiskImageError` that names the file.
public struct DiskFormatError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong, for example `GPT header checksum mismatch`.
    public let reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { reason }
}

extension DiskFormatError {
    /// Attaches the file name.
    func at(_ path: String) -> DiskImageError { DiskImageError(path: path, reason: reason) }
}

/// Runs `body`, turning a `DiskFormatError` into a `DiskImageError` naming `path`.
func naming<T>(_ path: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as DiskFormatError { throw error.at(path) }
}
