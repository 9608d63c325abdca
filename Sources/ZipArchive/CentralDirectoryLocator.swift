import LinuxSystem

/// Where the central directory is and how many entries it claims, from the end records.
struct CentralDirectoryBounds {
    let offset: UInt64
    let size: UInt64
    let entryCount: UInt64
    /// The first byte after the central directory that belongs to the end records.
    let endRecordsOffset: UInt64
}

/// Finds the end of central directory record, follows the Zip64 locator when there is one, and
/// checks that the central directory it describes fits in the file before the end records.
struct CentralDirectoryLocator {
    let file: OpenFile
    let path: String
    let fileSize: UInt64

    /// The end record is 22 bytes plus a comment of at most 65535 bytes.
    private static let maximumTail = UInt64(ZipFormat.endOfCentralDirectorySize + 0xFFFF)

    func locate() throws -> CentralDirectoryBounds {
        guard fileSize >= UInt64(ZipFormat.endOfCentralDirectorySize) else {
            throw ZipError(.notAZip, file: path, "not a ZIP file (\(fileSize) bytes, too short for an end of central directory record)")
        }
        let tailLength = min(fileSize, Self.maximumTail)
        let tailStart = fileSize - tailLength
        let tail = LittleEndianBytes(try file.read(count: Int(tailLength), at: tailStart))
        guard let eocd = findEndRecord(in: tail) else {
            throw ZipError(.notAZip, file: path, "not a ZIP file (no end of central directory record)")
        }
        let eocdOffset = tailStart + UInt64(eocd)
        let diskNumber = tail.u16(eocd + 4)!, directoryDisk = tail.u16(eocd + 6)!
        let entriesOnDisk = tail.u16(eocd + 8)!, entries = tail.u16(eocd + 10)!
        let size32 = tail.u32(eocd + 12)!, offset32 = tail.u32(eocd + 16)!

        if let zip64 = try zip64Bounds(endRecordOffset: eocdOffset) {
            return zip64
        }
        guard diskNumber == 0, directoryDisk == 0, entriesOnDisk == entries else {
            throw ZipError(.unsupported, file: path, "multi-disk ZIP archives are not supported")
        }
        if entries == 0xFFFF || size32 == 0xFFFF_FFFF || offset32 == 0xFFFF_FFFF {
            throw ZipError.corrupt(path, "end of central directory asks for Zip64 but there is no Zip64 locator")
        }
        return try checked(offset: UInt64(offset32), size: UInt64(size32), count: UInt64(entries), end: eocdOffset)
    }

    /// Scans backwards for the signature at a place where the comment length ends exactly at the end of the file.
    private func findEndRecord(in tail: LittleEndianBytes) -> Int? {
        var position = tail.count - ZipFormat.endOfCentralDirectorySize
        while position >= 0 {
            if tail.u32(position) == ZipFormat.endOfCentralDirectorySignature,
               let commentLength = tail.u16(position + 20),
               position + ZipFormat.endOfCentralDirectorySize + Int(commentLength) == tail.count {
                return position
            }
            position -= 1
        }
        return nil
    }

    private func zip64Bounds(endRecordOffset: UInt64) throws -> CentralDirectoryBounds? {
        let locatorSize = UInt64(ZipFormat.zip64LocatorSize)
        guard endRecordOffset >= locatorSize else { return nil }
        let locatorOffset = endRecordOffset - locatorSize
        let locator = LittleEndianBytes(try file.read(count: Int(locatorSize), at: locatorOffset))
        guard locator.u32(0) == ZipFormat.zip64LocatorSignature else { return nil }
        guard locator.u32(4) == 0, locator.u32(16)! <= 1 else {
            throw ZipError(.unsupported, file: path, "multi-disk ZIP archives are not supported")
        }
        let recordOffset = locator.u64(8)!
        let recordSize = UInt64(ZipFormat.zip64EndOfCentralDirectorySize)
        guard recordOffset <= locatorOffset, locatorOffset - recordOffset >= recordSize else {
            throw ZipError.corrupt(path, "Zip64 locator points outside the file")
        }
        let record = LittleEndianBytes(try file.read(count: Int(recordSize), at: recordOffset))
        guard record.u32(0) == ZipFormat.zip64EndOfCentralDirectorySignature else {
            throw ZipError.corrupt(path, "no Zip64 end of central directory record where the locator points")
        }
        guard record.u32(16) == 0, record.u32(20) == 0, record.u64(24) == record.u64(32) else {
            throw ZipError(.unsupported, file: path, "multi-disk ZIP archives are not supported")
        }
        return try checked(offset: record.u64(48)!, size: record.u64(40)!, count: record.u64(32)!, end: recordOffset)
    }

    private func checked(offset: UInt64, size: UInt64, count: UInt64, end: UInt64) throws -> CentralDirectoryBounds {
        guard offset <= end, size <= end - offset else {
            throw ZipError.corrupt(path, "central directory (offset \(offset), \(size) bytes) lies outside the file")
        }
        guard count <= size / UInt64(ZipFormat.centralHeaderFixedSize) else {
            throw ZipError.corrupt(path, "end of central directory claims \(count) entries, more than \(size) bytes of directory can hold")
        }
        return CentralDirectoryBounds(offset: offset, size: size, entryCount: count, endRecordsOffset: end)
    }
}
