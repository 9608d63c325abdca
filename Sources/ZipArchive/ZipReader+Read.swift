import LinuxSystem

extension ZipReader {
    /// Streams the uncompressed data of `entry` to `body` in chunks.
    ///
    /// Every chunk except the last is exactly `chunkSize` bytes, so a `chunkSize` that is a
    /// multiple of 64 KiB keeps MSIX blocks whole. The buffer passed to `body` is only valid
    /// during the call. The data must inflate to exactly `uncompressedSize` bytes; with
    /// `checkCRC` (the default) the CRC-32 must match too. Callers that hash every block (MSIX
    /// block maps) can skip the CRC, which costs about as much as reading the data.
    public func read(_ entry: ZipEntry, chunkSize: Int = 1 << 20, checkCRC: Bool = true,
                     _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        precondition(chunkSize > 0, "chunkSize must be positive")
        // One byte more than the declared size is enough to notice an entry that inflates to more.
        let capacity = entry.uncompressedSize < UInt64(chunkSize) ? Int(entry.uncompressedSize) + 1 : chunkSize
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 64)
        defer { output.deallocate() }
        var crc: UInt32 = 0
        let deliver = { (chunk: UnsafeRawBufferPointer) throws in
            if checkCRC { crc = CRC32.update(crc, chunk) }
            try body(chunk)
        }
        switch entry.method {
        case .stored: try readStored(entry, into: output, deliver)
        case .deflated: try readDeflated(entry, into: output, deliver)
        }
        if checkCRC && crc != entry.crc32 {
            throw ZipError(.dataMismatch, file: path, "'\(entry.name)' does not match its CRC-32")
        }
    }

    /// The whole uncompressed content of a small entry, such as an XML manifest.
    /// Throws when it is larger than `limit`, so a hostile size cannot exhaust memory.
    public func contents(of entry: ZipEntry, limit: UInt64 = 64 << 20) throws -> [UInt8] {
        guard entry.uncompressedSize <= limit else {
            throw ZipError(.unsupported, file: path, "'\(entry.name)' is \(entry.uncompressedSize) bytes, more than the \(limit) expected")
        }
        var result: [UInt8] = []
        result.reserveCapacity(Int(entry.uncompressedSize))
        try read(entry) { result.append(contentsOf: $0) }
        return result
    }

    private func readStored(_ entry: ZipEntry, into output: UnsafeMutableRawBufferPointer,
                            _ deliver: (UnsafeRawBufferPointer) throws -> Void) throws {
        var offset = entry.dataOffset
        var remaining = entry.uncompressedSize
        while remaining > 0 {
            let count = Int(min(remaining, UInt64(output.count)))
            let chunk = UnsafeMutableRawBufferPointer(rebasing: output[0..<count])
            try file.read(into: chunk, at: offset)
            try deliver(UnsafeRawBufferPointer(chunk))
            offset += UInt64(count)
            remaining -= UInt64(count)
        }
    }

    private func readDeflated(_ entry: ZipEntry, into output: UnsafeMutableRawBufferPointer,
                              _ deliver: (UnsafeRawBufferPointer) throws -> Void) throws {
        let inflater = Inflater()
        let inputCapacity = Int(max(1, min(entry.compressedSize, 1 << 20)))
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: inputCapacity, alignment: 64)
        defer { input.deallocate() }
        var inputOffset = entry.dataOffset
        var inputRemaining = entry.compressedSize
        var produced: UInt64 = 0
        var finished = false
        while !finished {
            var filled = 0
            while filled < output.count && !finished {
                if inflater.pendingInput == 0 && inputRemaining > 0 {
                    let count = Int(min(inputRemaining, UInt64(input.count)))
                    let chunk = UnsafeMutableRawBufferPointer(rebasing: input[0..<count])
                    try file.read(into: chunk, at: inputOffset)
                    inflater.setInput(UnsafeRawBufferPointer(chunk))
                    inputOffset += UInt64(count)
                    inputRemaining -= UInt64(count)
                }
                guard let step = inflater.inflate(into: UnsafeMutableRawBufferPointer(rebasing: output[filled...])) else {
                    throw ZipError.corrupt(path, "'\(entry.name)' has invalid deflate data")
                }
                filled += step.produced
                switch step.outcome {
                case .finished: finished = true
                case .progressed: break
                case .needsInput:
                    guard inflater.pendingInput == 0 && inputRemaining == 0 else { break }
                    // Some packers end the data with a full flush and never write a final
                    // block; the stream is complete if it gave every declared byte.
                    guard produced + UInt64(filled) == entry.uncompressedSize else {
                        throw ZipError.corrupt(path, "'\(entry.name)' ends before its deflate stream does")
                    }
                    finished = true
                }
                if produced + UInt64(filled) > entry.uncompressedSize {
                    throw ZipError(.dataMismatch, file: path, "'\(entry.name)' inflates to more than its declared \(entry.uncompressedSize) bytes")
                }
            }
            if filled > 0 {
                try deliver(UnsafeRawBufferPointer(rebasing: output[0..<filled]))
                produced += UInt64(filled)
            }
        }
        guard produced == entry.uncompressedSize else {
            throw ZipError(.dataMismatch, file: path, "'\(entry.name)' inflates to \(produced) bytes, not the declared \(entry.uncompressedSize)")
        }
    }
}
