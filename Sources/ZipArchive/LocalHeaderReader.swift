import LinuxSystem

/// Reads each entry's local file header to learn where its data starts, and checks that every
/// entry's header and data lie before the central directory without overlapping another entry.
struct LocalHeaderReader {
    let file: OpenFile
    let path: String
    let directoryOffset: UInt64

    func complete(_ entries: [CentralEntry]) throws -> [ZipEntry] {
        var result: [ZipEntry] = []
        result.reserveCapacity(entries.count)
        var seenNames = Set<[UInt8]>()
        for entry in entries {
            guard seenNames.insert(entry.rawName).inserted else {
                throw ZipError.corrupt(path, "central directory entry \(entry.index) '\(name(entry))' appears more than once")
            }
            result.append(try readLocalHeader(of: entry))
        }
        try checkNoOverlap(result)
        return result
    }

    private func name(_ entry: CentralEntry) -> String { String(decoding: entry.rawName, as: UTF8.self) }

    private func readLocalHeader(of entry: CentralEntry) throws -> ZipEntry {
        let label = "central directory entry \(entry.index) '\(name(entry))'"
        let fixed = UInt64(ZipFormat.localHeaderFixedSize)
        let nameLength = UInt64(entry.rawName.count)
        guard entry.localHeaderOffset <= directoryOffset, directoryOffset - entry.localHeaderOffset >= fixed + nameLength else {
            throw ZipError.corrupt(path, "\(label) points past the end of the file data")
        }
        let header = LittleEndianBytes(try file.read(count: Int(fixed + nameLength), at: entry.localHeaderOffset))
        guard header.u32(0) == ZipFormat.localHeaderSignature else {
            throw ZipError.corrupt(path, "\(label) does not point at a local file header")
        }
        guard let method = header.u16(8), method == entry.method.rawValue else {
            throw ZipError.corrupt(path, "\(label) has a different compression method in its local header")
        }
        // A local name that differs from the central one lets two tools see two different files.
        guard header.u16(26) == UInt16(nameLength),
              header.slice(ZipFormat.localHeaderFixedSize, length: Int(nameLength)).map(Array.init) == entry.rawName else {
            throw ZipError.corrupt(path, "\(label) has a different name in its local header")
        }
        let headerSize = fixed + nameLength + UInt64(header.u16(28)!)
        let available = directoryOffset - entry.localHeaderOffset
        guard headerSize <= available, entry.compressedSize <= available - headerSize else {
            throw ZipError.corrupt(path, "\(label) points past the end of the file data (\(entry.compressedSize) bytes at \(entry.localHeaderOffset + headerSize), central directory at \(directoryOffset))")
        }
        return ZipEntry(index: entry.index, rawName: entry.rawName, name: name(entry), method: entry.method,
                        flags: entry.flags, crc32: entry.crc32, compressedSize: entry.compressedSize,
                        uncompressedSize: entry.uncompressedSize, localHeaderOffset: entry.localHeaderOffset,
                        localHeaderSize: headerSize, versionMadeBy: entry.versionMadeBy,
                        externalAttributes: entry.externalAttributes)
    }

    /// Overlapping entries are how "ZIP bombs" reuse one compressed stream many times, and how
    /// an archive can show different content to different readers.
    private func checkNoOverlap(_ entries: [ZipEntry]) throws {
        let ordered = entries.sorted { $0.localHeaderOffset < $1.localHeaderOffset }
        for (current, next) in zip(ordered, ordered.dropFirst()) {
            let end = current.dataOffset + current.compressedSize
            if end > next.localHeaderOffset {
                throw ZipError.corrupt(path, "central directory entry \(current.index) '\(current.name)' overlaps entry \(next.index) '\(next.name)'")
            }
        }
    }
}
