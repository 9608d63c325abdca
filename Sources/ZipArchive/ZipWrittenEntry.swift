/// How `ZipWriter` stored one entry: what a central directory and an MSIX block map need.
public struct ZipWrittenEntry: Sendable, Equatable {
    /// The name as stored in the archive.
    public let name: String
    /// Stored or deflated, after the writer's choice for `.automatic`.
    public let method: CompressionMethod
    /// CRC-32 of the uncompressed data.
    public let crc32: UInt32
    /// Bytes of data in the archive.
    public let compressedSize: UInt64
    /// Bytes of data once extracted.
    public let uncompressedSize: UInt64
    /// Where the local header starts.
    public let localHeaderOffset: UInt64
    /// Size of the local header (MSIX `LfhSize`).
    public let localHeaderSize: UInt64
    /// For deflated entries, the compressed size of each 64 KiB block of uncompressed data,
    /// up to and including its `Z_FULL_FLUSH` marker (MSIX block `Size`). The end-of-stream
    /// marker after the last block is counted in `compressedSize` only, as makeappx does. Empty
    /// for stored entries.
    public let blockCompressedSizes: [UInt64]
    /// Unix permission bits recorded in the external attributes.
    public let unixPermissions: UInt16
}

/// How `ZipWriter` should store an entry.
public enum ZipCompression: Sendable, Equatable {
    /// Store the bytes as they are.
    case stored
    /// Deflate at zlib level `level` (6 is zlib's default balance).
    case deflated(level: Int32)
    /// Deflate, unless it saves less than `minimumSaving` (a fraction, 0.02 = 2%) of the size,
    /// in which case store: already-compressed data (PNG, JPEG, archives) only gets slower to read.
    case automatic(minimumSaving: Double)

    /// Deflate at the default level.
    public static let deflated = ZipCompression.deflated(level: 6)
}
