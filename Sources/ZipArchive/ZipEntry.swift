/// One file in a ZIP archive, as its central directory and local header describe it.
///
/// All offsets have been checked against the archive by `ZipReader`: the local header and the
/// data lie inside the file, before the central directory, and do not overlap other entries.
public struct ZipEntry: Sendable, Equatable {
    /// Position in the central directory, from 0.
    public let index: Int
    /// The name exactly as stored.
    public let rawName: [UInt8]
    /// The name decoded as UTF-8 (invalid sequences become U+FFFD; `rawName` keeps the bytes).
    public let name: String
    /// Stored or deflated.
    public let method: CompressionMethod
    /// General purpose bit flags from the central directory.
    public let flags: UInt16
    /// CRC-32 of the uncompressed data.
    public let crc32: UInt32
    /// Bytes of data in the archive.
    public let compressedSize: UInt64
    /// Bytes once extracted.
    public let uncompressedSize: UInt64
    /// Where the local file header starts.
    public let localHeaderOffset: UInt64
    /// Size of the local file header: 30 + name + extra field (MSIX calls it `LfhSize`).
    public let localHeaderSize: UInt64
    /// "Version made by": the high byte is the host system (3 = Unix).
    public let versionMadeBy: UInt16
    /// External file attributes; for Unix hosts the high 16 bits are `st_mode`.
    public let externalAttributes: UInt32

    /// Where the entry's data starts.
    public var dataOffset: UInt64 { localHeaderOffset + localHeaderSize }

    /// The Unix permission bits (`0o7777`), when the archive was made on a Unix host and set them.
    public var unixPermissions: UInt16? {
        guard versionMadeBy >> 8 == ZipFormat.unixHost else { return nil }
        let mode = UInt16(truncatingIfNeeded: externalAttributes >> 16)
        return mode == 0 ? nil : mode & 0o7777
    }
}
