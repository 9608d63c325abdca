import Glibc

/// Builds the byte layout of local headers, central directory headers and end records.
enum ZipHeaders {
    private static func flags(for rawName: [UInt8]) -> UInt16 {
        rawName.allSatisfy { $0 < 0x80 } ? 0 : ZipFormat.flagUTF8Name
    }

    /// A local header with zero CRC and sizes (patched once the data is written) and, for
    /// `zip64`, a Zip64 extra field holding both sizes.
    static func localHeader(rawName: [UInt8], method: CompressionMethod, zip64: Bool) -> [UInt8] {
        var w = LittleEndianWriter()
        w.u32(ZipFormat.localHeaderSignature)
        w.u16(zip64 ? ZipFormat.versionZip64 : ZipFormat.versionDefault)
        w.u16(flags(for: rawName))
        w.u16(method.rawValue)
        w.u16(ZipWriter.dosTime)
        w.u16(ZipWriter.dosDate)
        w.u32(0); w.u32(0); w.u32(0)
        w.u16(UInt16(rawName.count))
        w.u16(zip64 ? 20 : 0)
        w.append(rawName)
        if zip64 { w.append(zip64LocalExtra(compressedSize: 0, uncompressedSize: 0)) }
        return w.bytes
    }

    /// CRC-32, compressed size and uncompressed size as they sit at offset 14 of a local header.
    static func localSizes(crc32: UInt32, compressedSize: UInt64, uncompressedSize: UInt64, zip64: Bool) -> [UInt8] {
        var w = LittleEndianWriter()
        w.u32(crc32)
        w.u32(zip64 ? 0xFFFF_FFFF : UInt32(compressedSize))
        w.u32(zip64 ? 0xFFFF_FFFF : UInt32(uncompressedSize))
        return w.bytes
    }

    static func zip64LocalExtra(compressedSize: UInt64, uncompressedSize: UInt64) -> [UInt8] {
        var w = LittleEndianWriter()
        w.u16(ZipFormat.zip64ExtraFieldTag)
        w.u16(16)
        w.u64(uncompressedSize)
        w.u64(compressedSize)
        return w.bytes
    }

    static func centralHeader(for entry: ZipWrittenEntry) -> [UInt8] {
        let rawName = Array(entry.name.utf8)
        // Only the values that do not fit in 32 bits go into the Zip64 field, in the fixed order.
        var zip64 = LittleEndianWriter()
        let bigUncompressed = entry.uncompressedSize >= 0xFFFF_FFFF
        let bigCompressed = entry.compressedSize >= 0xFFFF_FFFF
        let bigOffset = entry.localHeaderOffset >= 0xFFFF_FFFF
        if bigUncompressed { zip64.u64(entry.uncompressedSize) }
        if bigCompressed { zip64.u64(entry.compressedSize) }
        if bigOffset { zip64.u64(entry.localHeaderOffset) }
        var extra = LittleEndianWriter()
        if !zip64.bytes.isEmpty {
            extra.u16(ZipFormat.zip64ExtraFieldTag)
            extra.u16(UInt16(zip64.bytes.count))
            extra.append(zip64.bytes)
        }
        let version = extra.bytes.isEmpty ? ZipFormat.versionDefault : ZipFormat.versionZip64
        var w = LittleEndianWriter()
        w.u32(ZipFormat.centralHeaderSignature)
        w.u16(ZipFormat.unixHost << 8 | version)
        w.u16(version)
        w.u16(flags(for: rawName))
        w.u16(entry.method.rawValue)
        w.u16(ZipWriter.dosTime)
        w.u16(ZipWriter.dosDate)
        w.u32(entry.crc32)
        w.u32(bigCompressed ? 0xFFFF_FFFF : UInt32(entry.compressedSize))
        w.u32(bigUncompressed ? 0xFFFF_FFFF : UInt32(entry.uncompressedSize))
        w.u16(UInt16(rawName.count))
        w.u16(UInt16(extra.bytes.count))
        w.u16(0)  // comment
        w.u16(0)  // disk
        w.u16(0)  // internal attributes
        w.u32((UInt32(S_IFREG) | UInt32(entry.unixPermissions)) << 16)
        w.u32(bigOffset ? 0xFFFF_FFFF : UInt32(entry.localHeaderOffset))
        w.append(rawName)
        w.append(extra.bytes)
        return w.bytes
    }

    /// The end of central directory record, preceded by the Zip64 record and locator when the
    /// count, size or offset does not fit the classic record.
    static func endRecords(entryCount: UInt64, directoryOffset: UInt64, directorySize: UInt64,
                           endRecordsOffset: UInt64, forceZip64: Bool = false) -> [UInt8] {
        let needsZip64 = forceZip64 || entryCount >= 0xFFFF || directoryOffset >= 0xFFFF_FFFF || directorySize >= 0xFFFF_FFFF
        var w = LittleEndianWriter()
        if needsZip64 {
            w.u32(ZipFormat.zip64EndOfCentralDirectorySignature)
            w.u64(UInt64(ZipFormat.zip64EndOfCentralDirectorySize - 12))
            w.u16(ZipFormat.unixHost << 8 | ZipFormat.versionZip64)
            w.u16(ZipFormat.versionZip64)
            w.u32(0); w.u32(0)
            w.u64(entryCount); w.u64(entryCount)
            w.u64(directorySize); w.u64(directoryOffset)
            w.u32(ZipFormat.zip64LocatorSignature)
            w.u32(0)
            w.u64(endRecordsOffset)
            w.u32(1)
        }
        w.u32(ZipFormat.endOfCentralDirectorySignature)
        w.u16(0); w.u16(0)
        let count16 = needsZip64 ? 0xFFFF : UInt16(entryCount)
        w.u16(count16); w.u16(count16)
        w.u32(needsZip64 ? 0xFFFF_FFFF : UInt32(directorySize))
        w.u32(needsZip64 ? 0xFFFF_FFFF : UInt32(directoryOffset))
        w.u16(0)
        return w.bytes
    }
}
