import CZlib

/// Moves one entry's data from its source to the archive, stored or deflated block by block.
struct EntryCompressor {
    let source: ZipEntrySource
    let sink: OutputBuffer

    /// What writing the data produced.
    struct Result {
        var crc32: UInt32 = 0
        var blockSizes: [UInt64] = []
    }

    private static let storedChunk = 16 * ZipFormat.blockSize
    private static let sampleSize = 4 * ZipFormat.blockSize

    func store() throws -> Result {
        var result = Result()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.storedChunk, alignment: 64)
        defer { buffer.deallocate() }
        var offset: UInt64 = 0
        while offset < source.size {
            let count = Int(min(source.size - offset, UInt64(buffer.count)))
            let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
            try source.read(into: chunk, at: offset)
            result.crc32 = CRC32.update(result.crc32, UnsafeRawBufferPointer(chunk))
            try sink.append(UnsafeRawBufferPointer(chunk))
            offset += UInt64(count)
        }
        return result
    }

    /// Deflates each 64 KiB block followed by `Z_FULL_FLUSH`, so every block ends on a byte
    /// boundary, does not refer back to earlier blocks, and has a compressed size of its own.
    func deflate(level: Int32) throws -> Result {
        var result = Result()
        let deflater = Deflater(level: level)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ZipFormat.blockSize, alignment: 64)
        defer { buffer.deallocate() }
        var offset: UInt64 = 0
        while offset < source.size {
            let count = Int(min(source.size - offset, UInt64(buffer.count)))
            let block = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
            try source.read(into: block, at: offset)
            result.crc32 = CRC32.update(result.crc32, UnsafeRawBufferPointer(block))
            let size = try deflater.compress(UnsafeRawBufferPointer(block), flush: Z_FULL_FLUSH) { try sink.append($0) }
            result.blockSizes.append(size)
            offset += UInt64(count)
        }
        _ = try deflater.compress(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_FINISH) { try sink.append($0) }
        return result
    }

    /// Whether deflating the first 256 KiB saves at least `fraction` of it: a cheap look that
    /// spares compressing a large already-compressed file twice.
    static func sampleSaves(_ source: ZipEntrySource, atLeast fraction: Double) throws -> Bool {
        guard source.size > 0 else { return false }
        let count = Int(min(source.size, UInt64(sampleSize)))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 64)
        defer { buffer.deallocate() }
        try source.read(into: buffer, at: 0)
        let compressed = Deflater(level: 6).compress(UnsafeRawBufferPointer(buffer), flush: Z_FINISH) { _ in }
        return Double(compressed) <= Double(count) * (1 - fraction)
    }

    /// Whether a deflated entry came out at least `fraction` smaller than its data.
    static func saves(_ entry: ZipWrittenEntry, atLeast fraction: Double) -> Bool {
        Double(entry.compressedSize) <= Double(entry.uncompressedSize) * (1 - fraction)
    }
}
