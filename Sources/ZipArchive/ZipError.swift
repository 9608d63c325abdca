import LinuxSystem

/// A ZIP archive that cannot be read or written, with a one-line reason that names the file.
///
/// Examples: `app.msix: corrupt ZIP: central directory entry 4 points past the end of the file`,
/// `app.msix: not a ZIP file (no end of central directory record)`.
public struct ZipError: AppAttachError, Equatable, Sendable {
    /// The kind of fault, for callers that react differently to each.
    public enum Kind: Sendable, Equatable {
        /// No end of central directory record: the file is not a ZIP at all.
        case notAZip
        /// A header, offset or length is inconsistent with the file.
        case corrupt
        /// A legal ZIP feature this codec refuses (encryption, multi-disk, other methods).
        case unsupported
        /// Entry data does not match its CRC-32 or declared size.
        case dataMismatch
        /// An entry could not be written.
        case writeFailed
    }

    /// What went wrong.
    public let kind: Kind
    /// The archive, as the caller named it.
    public let file: String
    /// The reason, without the file name.
    public let message: String

    public init(_ kind: Kind, file: String, _ message: String) {
        self.kind = kind
        self.file = file
        self.message = message
    }

    static func corrupt(_ file: String, _ message: String) -> ZipError {
        ZipError(.corrupt, file: file, "corrupt ZIP: " + message)
    }

    public var description: String { "\(file): \(message)" }
}
