import CZlib

/// A raw-deflate compressor (zlib `deflate` with `windowBits` -15) that can end a block at a
/// byte boundary with `Z_FULL_FLUSH`, which is what gives each 64 KiB MSIX block its own
/// compressed size.
final class Deflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutableRawBufferPointer

    init(level: Int32) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = deflateInit2_(stream, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                                   zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "deflateInit2 failed with \(status): zlib is out of memory or the level is invalid")
        output = .allocate(byteCount: 256 * 1024, alignment: 16)
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        output.deallocate()
    }

    /// Compresses all of `input` followed by `flush` (`Z_FULL_FLUSH` or `Z_FINISH`), handing
    /// the compressed bytes to `sink`. Returns how many compressed bytes were produced.
    func compress(_ input: UnsafeRawBufferPointer, flush: Int32,
                  sink: (UnsafeRawBufferPointer) throws -> Void) rethrows -> UInt64 {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        var produced: UInt64 = 0
        while true {
            stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(output.count)
            let status = deflate(stream, flush)
            precondition(status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR,
                         "deflate failed with \(status) on a valid stream")
            let count = output.count - Int(stream.pointee.avail_out)
            if count > 0 { try sink(UnsafeRawBufferPointer(rebasing: output[0..<count])) }
            produced += UInt64(count)
            // Finished when zlib had room left over (all flushed) or reports the end of the stream.
            if flush == Z_FINISH ? status == Z_STREAM_END : stream.pointee.avail_out != 0 { break }
        }
        return produced
    }
}

/// CRC-32 as ZIP uses it, computed by zlib.
public enum CRC32 {
    /// Continues `crc` over `bytes`.
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        var value = uLong(crc)
        var offset = 0
        // zlib takes a 32-bit length; feed large buffers in pieces.
        while offset < bytes.count {
            let n = min(bytes.count - offset, 1 << 30)
            value = crc32(value, (base + offset).assumingMemoryBound(to: Bytef.self), uInt(n))
            offset += n
        }
        return UInt32(truncatingIfNeeded: value)
    }

    /// CRC-32 of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { update(0, $0) }
    }
}
