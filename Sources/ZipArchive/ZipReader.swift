import LinuxSystem

/// Reads a ZIP archive from a file: its entries and, on demand, each entry's data.
///
/// `open` parses the end of central directory (and the Zip64 locator and record when present),
/// every central directory entry, and every local file header, checking that all offsets and
/// lengths stay inside the file. Entry data is read with `pread` into large buffers and inflated
/// by zlib, so a `ZipReader` can be shared by readers of different entries.
public final class ZipReader: @unchecked Sendable {
    /// The archive's path, as given to `open`; used in error messages.
    public let path: String
    /// The open archive.
    public let file: OpenFile
    /// The archive's size in bytes when it was opened.
    public let fileSize: UInt64
    /// Every entry, in central directory order.
    public let entries: [ZipEntry]
    /// Where the central directory starts; entry data all lies before it.
    public let centralDirectoryOffset: UInt64
    /// Bytes of central directory.
    public let centralDirectorySize: UInt64

    /// Opens and indexes the archive at `path`. Throws `ZipError` when it is not a well-formed ZIP.
    public static func open(_ path: String) throws -> ZipReader {
        let file = try OpenFile.openForReading(path)
        return try ZipReader(file: file, path: path)
    }

    /// Indexes an archive that is already open.
    public init(file: OpenFile, path: String) throws {
        self.file = file
        self.path = path
        self.fileSize = try file.size()
        let directory = try CentralDirectoryLocator(file: file, path: path, fileSize: fileSize).locate()
        centralDirectoryOffset = directory.offset
        centralDirectorySize = directory.size
        let partial = try CentralDirectoryParser(file: file, path: path, directory: directory).parse()
        entries = try LocalHeaderReader(file: file, path: path, directoryOffset: directory.offset)
            .complete(partial)
    }

    /// The first entry whose raw name equals `name`'s UTF-8 bytes.
    public func entry(named name: String) -> ZipEntry? {
        let raw = Array(name.utf8)
        return entries.first { $0.rawName == raw }
    }
}
