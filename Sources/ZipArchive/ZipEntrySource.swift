import LinuxSystem

/// Where `ZipWriter` reads an entry's uncompressed data from.
///
/// Reads are positional because the writer may read an entry twice: when deflate turns out not
/// to save enough, the entry is written again stored. The writer always reads at offsets that
/// are multiples of 64 KiB, in lengths that are multiples of 64 KiB except at the end, so a
/// source can hash MSIX blocks as they pass.
public protocol ZipEntrySource {
    /// The number of uncompressed bytes.
    var size: UInt64 { get }
    /// Fills `buffer` completely with the bytes at `offset`.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws
}

/// Entry data held in memory.
public struct BytesSource: ZipEntrySource {
    /// The data.
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var size: UInt64 { UInt64(bytes.count) }
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        bytes.withUnsafeBytes { all in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: all[Int(offset)..<(Int(offset) + buffer.count)]))
        }
    }
}

/// Entry data read from an open file with `pread`.
public struct FileSource: ZipEntrySource {
    /// The open file.
    public let file: OpenFile
    public let size: UInt64
    /// Uses the file's size at the time of the call; if the file shrinks later, reading fails.
    public init(_ file: OpenFile) throws {
        self.file = file
        self.size = try file.size()
    }
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        try file.read(into: buffer, at: offset)
    }
}
