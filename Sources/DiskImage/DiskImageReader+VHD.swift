extension DiskImageReader {
    /// A VHD whose footer (the last 512 bytes, `footerBytes`) carries the cookie.
    static func openVHD(_ image: ImageFile, footer footerBytes: [UInt8]) throws -> Container {
        let footer = try VHDFooter(decoding: footerBytes)
        // Readers disagree on the size of VHDs: Virtual PC and qemu (for most creators) use the
        // CHS geometry, Hyper-V the current size. The current size is exact where the two differ
        // (qemu `vpc_open` comment), so it is the one used here.
        let size = footer.currentSize
        guard size > 0, size % 512 == 0 else { throw DiskFormatError("VHD current size \(size) is not a positive multiple of 512") }
        // The format's sector numbers are 32-bit; nothing writes VHDs above 2 TiB.
        guard size <= 2 * 1024 * Size.gib else { throw DiskFormatError("VHD current size \(size) is above the format's 2 TiB limit") }
        let dataEnd = image.size - UInt64(VHDFooter.size)
        let id = GUID(textOrder: footer.uniqueID).description
        switch footer.diskType {
        case .fixed:
            guard size <= dataEnd else {
                throw DiskFormatError("fixed VHD of \(size) bytes needs a file of \(size + 512) bytes, but it has \(image.size); the file is truncated")
            }
            let disk = VirtualDisk(image: image, size: size, logicalSectorSize: 512, map: .linear(base: 0))
            return Container(kind: .vhdFixed, virtualSize: size, diskID: id, disk: disk)
        case .dynamic, .differencing:
            guard footer.dataOffset % 512 == 0, image.contains(footer.dataOffset, UInt64(VHDDynamicHeader.size)),
                  footer.dataOffset + UInt64(VHDDynamicHeader.size) <= dataEnd else {
                throw DiskFormatError("VHD dynamic header offset \(footer.dataOffset) lies outside the file (size \(image.size))")
            }
            let header = try VHDDynamicHeader(decoding: try image.read("VHD dynamic header", at: footer.dataOffset, count: VHDDynamicHeader.size))
            let blockSize = UInt64(header.blockSize)
            let blockCount = (size + blockSize - 1) / blockSize
            guard UInt64(header.maxTableEntries) >= blockCount else {
                throw DiskFormatError("VHD BAT has \(header.maxTableEntries) entries but the disk needs \(blockCount)")
            }
            let tableBytes = UInt64(header.maxTableEntries) * 4
            guard image.contains(header.tableOffset, tableBytes), header.tableOffset + tableBytes <= dataEnd else {
                throw DiskFormatError("VHD BAT at \(header.tableOffset) (\(tableBytes) bytes) extends beyond the end of the file (size \(image.size))")
            }
            if footer.diskType == .differencing {
                return Container(kind: .vhdDifferencing, virtualSize: size, blockSize: blockSize, diskID: id,
                                 parent: header.parentName.isEmpty ? GUID(textOrder: header.parentUniqueID).description : header.parentName,
                                 disk: nil)
            }
            let bat = try image.read("VHD BAT", at: header.tableOffset, count: Int(blockCount * 4))
            // A BAT entry is the sector of the block's bitmap; the data follows the bitmap.
            let blocks: [UInt64?] = (0..<Int(blockCount)).map { i in
                let sector = bat.be32(4 * i)
                return sector == 0xFFFF_FFFF ? nil : UInt64(sector) * 512 + header.bitmapSize
            }
            let disk = VirtualDisk(image: image, size: size, logicalSectorSize: 512,
                                   map: .blocks(blockSize: blockSize, blocks: blocks, lowest: 512, limit: dataEnd))
            return Container(kind: .vhdDynamic, virtualSize: size, blockSize: blockSize, diskID: id, disk: disk)
        }
    }
}
