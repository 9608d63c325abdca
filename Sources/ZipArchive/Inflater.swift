import CZlib

/// A raw-deflate decompressor (zlib `inflate` with `windowBits` -15, no zlib or gzip wrapper).
///
/// The `z_stream` lives at a fixed heap address because zlib keeps a pointer back to it.
final class Inflater {
    private let stream: UnsafeMutablePointer<z_stream>

    /// What one `inflate` call did.
    enum Outcome { case progressed, finished, needsInput }

    init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = inflateInit2_(stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "inflateInit2 failed with \(status): zlib is out of memory or mismatched")
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Bytes of the last `setInput` buffer not consumed yet.
    var pendingInput: Int { Int(stream.pointee.avail_in) }

    /// Points zlib at `input`, which must stay valid until it is consumed.
    func setInput(_ input: UnsafeRawBufferPointer) {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
    }

    /// Inflates into `output`; returns how many bytes were produced and whether the stream ended.
    /// Returns `nil` for corrupt data (`Z_DATA_ERROR`).
    func inflate(into output: UnsafeMutableRawBufferPointer) -> (produced: Int, outcome: Outcome)? {
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        let status = CZlib.inflate(stream, Z_NO_FLUSH)
        let produced = output.count - Int(stream.pointee.avail_out)
        switch status {
        case Z_STREAM_END: return (produced, .finished)
        case Z_OK: return (produced, .progressed)
        case Z_BUF_ERROR: return (produced, .needsInput)
        default: return nil
        }
    }
}
