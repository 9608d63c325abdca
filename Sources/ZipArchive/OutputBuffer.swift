import LinuxSystem

/// Collects small writes into a large buffer so that the archive is written with few `pwrite`s.
final class OutputBuffer {
    let file: OpenFile
    private let buffer: UnsafeMutableRawBufferPointer
    private var buffered = 0
    /// Where the buffered bytes will land in the file.
    private var flushedPosition: UInt64 = 0

    init(file: OpenFile, capacity: Int = 1 << 20) {
        self.file = file
        buffer = .allocate(byteCount: capacity, alignment: 64)
    }

    deinit { buffer.deallocate() }

    /// The file offset of the next byte appended.
    var position: UInt64 { flushedPosition + UInt64(buffered) }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        if bytes.count > buffer.count - buffered { try flush() }
        if bytes.count >= buffer.count {
            try file.write(bytes, at: flushedPosition)
            flushedPosition += UInt64(bytes.count)
            return
        }
        (buffer.baseAddress! + buffered).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        buffered += bytes.count
    }

    func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    func flush() throws {
        guard buffered > 0 else { return }
        try file.write(UnsafeRawBufferPointer(rebasing: buffer[0..<buffered]), at: flushedPosition)
        flushedPosition += UInt64(buffered)
        buffered = 0
    }

    /// Overwrites bytes already written, such as a local header once the sizes are known.
    func patch(_ bytes: [UInt8], at offset: UInt64) throws {
        try flush()
        try file.write(bytes, at: offset)
    }

    /// Moves the write position back to `offset`, dropping what was written after it.
    func rewind(to offset: UInt64) throws {
        try flush()
        flushedPosition = offset
    }
}
