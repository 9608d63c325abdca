import LinuxSystem

/// A central directory entry before its local header has been read.
struct CentralEntry {
    let index: Int
    let rawName: [UInt8]
    let method: CompressionMethod
    let flags: UInt16
    let crc32: UInt32
    let compressedSize: UInt64
    let uncompressedSize: UInt64
    let localHeaderOffset: UInt64
    let versionMadeBy: UInt16
    let externalAttributes: UInt32
}

/// Parses every central directory entry, resolving Zip64 extra fields and refusing what the
/// codec does not support (encryption, methods other than stored and deflate).
struct CentralDirectoryParser {
    let file: OpenFile
    let path: String
    let directory: CentralDirectoryBounds

    func parse() throws -> [CentralEntry] {
        let bytes = LittleEndianBytes(try file.read(count: Int(directory.size), at: directory.offset))
        var entries: [CentralEntry] = []
        entries.reserveCapacity(Int(directory.entryCount))
        var position = 0
        for index in 0..<Int(directory.entryCount) {
            let (entry, next) = try parseEntry(index, at: position, in: bytes)
            entries.append(entry)
            position = next
        }
        if position != bytes.count {
            throw ZipError.corrupt(path, "central directory has \(bytes.count - position) bytes after its \(entries.count) entries")
        }
        return entries
    }

    private func parseEntry(_ index: Int, at start: Int, in bytes: LittleEndianBytes) throws -> (CentralEntry, Int) {
        let fixed = ZipFormat.centralHeaderFixedSize
        guard bytes.contains(start, length: fixed), bytes.u32(start) == ZipFormat.centralHeaderSignature else {
            throw ZipError.corrupt(path, "central directory entry \(index) has no valid header")
        }
        let nameLength = Int(bytes.u16(start + 28)!), extraLength = Int(bytes.u16(start + 30)!)
        let commentLength = Int(bytes.u16(start + 32)!)
        let variableLength = nameLength + extraLength + commentLength
        guard bytes.contains(start + fixed, length: variableLength) else {
            throw ZipError.corrupt(path, "central directory entry \(index) runs past the end of the directory")
        }
        guard nameLength > 0 else { throw ZipError.corrupt(path, "central directory entry \(index) has an empty name") }
        let rawName = Array(bytes.slice(start + fixed, length: nameLength)!)
        let label = "central directory entry \(index) '\(String(decoding: rawName, as: UTF8.self))'"
        let flags = bytes.u16(start + 8)!
        guard flags & ZipFormat.flagEncrypted == 0 else {
            throw ZipError(.unsupported, file: path, "\(label) is encrypted")
        }
        let methodValue = bytes.u16(start + 10)!
        guard let method = CompressionMethod(rawValue: methodValue) else {
            throw ZipError(.unsupported, file: path, "\(label) uses compression method \(methodValue); only stored (0) and deflate (8) are supported")
        }
        var compressed = UInt64(bytes.u32(start + 20)!), uncompressed = UInt64(bytes.u32(start + 24)!)
        var offset = UInt64(bytes.u32(start + 42)!)
        let disk = bytes.u16(start + 34)!
        let extra = LittleEndianBytes(Array(bytes.slice(start + fixed + nameLength, length: extraLength)!))
        if uncompressed == 0xFFFF_FFFF || compressed == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
            guard zip64Values(in: extra, uncompressed: &uncompressed, compressed: &compressed, offset: &offset) else {
                throw ZipError.corrupt(path, "\(label) needs a Zip64 extra field but has none that fits")
            }
        }
        guard disk == 0 || disk == 0xFFFF else {
            throw ZipError(.unsupported, file: path, "\(label) is on another disk of a multi-disk archive")
        }
        guard offset < directory.offset else {
            throw ZipError.corrupt(path, "\(label) points past the end of the file data (local header at \(offset), central directory at \(directory.offset))")
        }
        if method == .stored && compressed != uncompressed {
            throw ZipError.corrupt(path, "\(label) is stored but its sizes differ (\(compressed) and \(uncompressed))")
        }
        let entry = CentralEntry(index: index, rawName: rawName, method: method, flags: flags, crc32: bytes.u32(start + 16)!,
                                 compressedSize: compressed, uncompressedSize: uncompressed, localHeaderOffset: offset,
                                 versionMadeBy: bytes.u16(start + 4)!, externalAttributes: bytes.u32(start + 38)!)
        return (entry, start + fixed + variableLength)
    }

    /// Reads the Zip64 extended information field: each value is present only when the 32-bit
    /// field it replaces holds 0xFFFFFFFF, in the fixed order uncompressed, compressed, offset.
    private func zip64Values(in extra: LittleEndianBytes, uncompressed: inout UInt64, compressed: inout UInt64,
                             offset: inout UInt64) -> Bool {
        var position = 0
        while let tag = extra.u16(position), let length = extra.u16(position + 2) {
            let body = position + 4
            guard extra.contains(body, length: Int(length)) else { return false }
            if tag == ZipFormat.zip64ExtraFieldTag {
                var cursor = body
                let end = body + Int(length)
                func next() -> UInt64? {
                    guard cursor + 8 <= end, let value = extra.u64(cursor) else { return nil }
                    cursor += 8
                    return value
                }
                if uncompressed == 0xFFFF_FFFF { guard let v = next() else { return false }; uncompressed = v }
                if compressed == 0xFFFF_FFFF { guard let v = next() else { return false }; compressed = v }
                if offset == 0xFFFF_FFFF { guard let v = next() else { return false }; offset = v }
                return true
            }
            position = body + Int(length)
        }
        return false
    }
}
