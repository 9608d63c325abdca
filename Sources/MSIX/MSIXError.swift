import LinuxSystem
import ZipArchive

/// A package that cannot be read, verified, unpacked or packed, with a one-line reason that
/// names the file, for example
/// `app.msix: block 1 of 'App1.dll' does not match the SHA-256 in AppxBlockMap.xml`.
public struct MSIXError: AppAttachError, Equatable, Sendable {
    /// The kind of fault.
    public enum Kind: String, Sendable, Equatable, Codable {
        /// The file is not a readable ZIP archive.
        case corruptZip
        /// A ZIP entry name is absolute, escapes with `..`, is badly encoded, or collides with another.
        case unsafeName
        /// A footprint file (manifest, block map, content types) is missing.
        case missingFootprint
        /// AppxManifest.xml is not well-formed or lacks what a package needs.
        case invalidManifest
        /// The package identity (Name, Version, Publisher, architecture) breaks the rules.
        case invalidIdentity
        /// AppxBlockMap.xml is malformed or does not describe the files.
        case invalidBlockMap
        /// A file's content does not match its block hashes.
        case blockMismatch
        /// [Content_Types].xml is malformed or does not cover a part.
        case invalidContentTypes
        /// AppxSignature.p7x is malformed or one of its digests does not match.
        case invalidSignature
        /// The output could not be written, or the input directory could not be read.
        case fileSystem
    }

    /// What went wrong.
    public let kind: Kind
    /// The package or directory concerned, when known.
    public let file: String?
    /// The reason, without the file name.
    public let message: String

    public init(_ kind: Kind, file: String? = nil, _ message: String) {
        self.kind = kind
        self.file = file
        self.message = message
    }

    /// The same error, naming `file`.
    public func naming(_ file: String) -> MSIXError { MSIXError(kind, file: file, message) }

    public var description: String { file.map { "\($0): \(message)" } ?? message }
}

extension MSIXError {
    init(_ zipError: ZipError) {
        self.init(.corruptZip, file: zipError.file, zipError.message)
    }

    init(_ systemError: SystemCallError, kind: Kind = .fileSystem) {
        self.init(kind, file: nil, systemError.description)
    }
}
