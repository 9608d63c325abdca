extension DiskImageReader {
    /// A VHDX (MS-VHDX §2): header section, current header, log state, region table, metadata, BAT.
    static func openVHDX(_ image: ImageFile) throws -> Container {
        guard image.size >= VHDXLayout.headerSectionSize else {
            throw DiskFormatError("VHDX is \(image.size) bytes, shorter than its 1 MiB header section; the file is truncated")
        }
        _ = try VHDXFileIdentifier(decoding: try image.read("VHDX file identifier", at: 0, count: 520))
        func header(_ offset: UInt64) throws -> Result<VHDXHeader, DiskFormatError> {
            let bytes = try image.read("VHDX header", at: offset, count: VHDXHeader.size)
            do { return .success(try VHDXHeader(decoding: bytes)) } catch { return .failure(error) }
        }
        let current = try VHDXHeader.current(try header(VHDXLayout.header1Offset), try header(VHDXLayout.header2Offset))
        try current.validate(fileSize: image.size)
        // MS-VHDX §2.2.2.1: a non-zero LogGuid means the log may hold updates that must be replayed
        // before the file is consistent. Replaying writes the file, and this reader never writes;
        // a clean close leaves LogGuid zero (Hyper-V and qemu both do), so refuse.
        guard current.logGuid.isZero else {
            throw DiskFormatError("log needs replay (header LogGuid \(current.logGuid) is set: the image was not closed cleanly); open it once read-write with Hyper-V or `qemu-img check -r all`")
        }
        let log = current.logOffset..<(current.logOffset + UInt64(current.logLength))

        // MS-VHDX §2.2.3: the two region table copies are identical; use the second if the first is damaged.
        func table(_ offset: UInt64) throws -> Result<VHDXRegionTable, DiskFormatError> {
            let bytes = try image.read("VHDX region table", at: offset, count: VHDXRegionTable.size)
            do { return .success(try VHDXRegionTable(decoding: bytes)) } catch { return .failure(error) }
        }
        // The second copy is read only when the first is damaged (each is 64 KiB with a checksum).
        let regions: VHDXRegionTable
        switch try table(VHDXLayout.regionTable1Offset) {
        case .success(let t): regions = t
        case .failure(let e1):
            switch try table(VHDXLayout.regionTable2Offset) {
            case .success(let t): regions = t
            case .failure(let e2): throw DiskFormatError("no valid VHDX region table (copy 1: \(e1.reason); copy 2: \(e2.reason))")
            }
        }
        let (batRegion, metadataRegion) = try regions.validate(fileSize: image.size, log: log)
        // In one round: the metadata table, its items where writers put them (right after the
        // 64 KiB table: Hyper-V, qemu and ours), and the start of the BAT.
        image.prefetch(4096, at: metadataRegion.fileOffset)
        image.prefetch(4096, at: metadataRegion.fileOffset + UInt64(VHDXMetadata.tableSize))
        image.prefetch(16 << 10, at: batRegion.fileOffset)

        // Only the header and the entries it counts, not the whole 64 KiB: most of the table is
        // zeros, and filling fresh memory with it costs page faults on every stage.
        let metadataHead = try image.read("VHDX metadata table", at: metadataRegion.fileOffset, count: VHDXMetadata.headerSize)
        let entries = min(Int(metadataHead.le16(10)), VHDXMetadata.maxEntries)
        let metadataTable = try image.read("VHDX metadata table", at: metadataRegion.fileOffset,
                                           count: VHDXMetadata.headerSize + 32 * entries)
        let metadata = try VHDXMetadata(table: metadataTable, regionLength: UInt64(metadataRegion.length)) { offset, length in
            try image.read("VHDX metadata item", at: metadataRegion.fileOffset + offset, count: length)
        }
        let bat = VHDXBAT(blockSize: UInt64(metadata.blockSize), logicalSectorSize: UInt64(metadata.logicalSectorSize),
                          virtualDiskSize: metadata.virtualDiskSize, hasParent: metadata.hasParent)
        guard bat.entryCount * 8 <= UInt64(batRegion.length) else {
            throw DiskFormatError("VHDX BAT region (\(batRegion.length) bytes) is smaller than its \(bat.entryCount) entries")
        }
        var container = Container(kind: metadata.hasParent ? .vhdxDifferencing : metadata.leaveBlockAllocated ? .vhdxFixed : .vhdxDynamic,
                                  virtualSize: metadata.virtualDiskSize, blockSize: bat.blockSize,
                                  logicalSectorSize: Int(metadata.logicalSectorSize),
                                  physicalSectorSize: Int(metadata.physicalSectorSize),
                                  diskID: metadata.virtualDiskID.description)
        if metadata.hasParent {
            container.parent = "see the VHDX parent locator"
            return container
        }
        let table = try image.read("VHDX BAT", at: batRegion.fileOffset, count: Int(bat.entryCount * 8))
        let structures = [
            NamedByteRange("header section", 0, VHDXLayout.headerSectionSize), NamedByteRange("log", log.lowerBound, log.upperBound),
            NamedByteRange("metadata region", metadataRegion.fileOffset, metadataRegion.fileOffset + UInt64(metadataRegion.length)),
            NamedByteRange("BAT", batRegion.fileOffset, batRegion.fileOffset + UInt64(batRegion.length)),
        ]
        var blocks: [UInt64?] = []
        blocks.reserveCapacity(Int(bat.payloadBlockCount))
        for block in 0..<bat.payloadBlockCount {
            let entry = table.le64(Int(bat.payloadIndex(block)) * 8)
            switch VHDXBAT.PayloadState(rawValue: VHDXBAT.state(entry)) {
            case .fullyPresent?:
                // A payload block inside the log, metadata or BAT would expose (or, for a
                // writer, overwrite) the image's own structures (qemu `vhdx_region_check`).
                let start = VHDXBAT.fileOffset(entry)
                guard start <= UInt64.max - bat.blockSize else {
                    throw DiskFormatError("VHDX payload block \(block) has an impossible file offset \(start)")
                }
                if let clash = structures.first(where: { $0.overlaps(start, start + bat.blockSize) }) {
                    throw DiskFormatError("VHDX payload block \(block) at file offset \(start) overlaps the \(clash.name)")
                }
                blocks.append(start)
            case .notPresent?, .undefined?, .zero?, .unmapped?, .unmappedV095?:
                // §2.5.1.1: these read as zeros on a disk without a parent.
                blocks.append(nil)
            case .partiallyPresent?:
                throw DiskFormatError("VHDX payload block \(block) is partially present, which only differencing disks may use")
            case nil:
                throw DiskFormatError("VHDX payload block \(block) has invalid state \(VHDXBAT.state(entry))")
            }
        }
        // Payload blocks live after the header section, inside the file; overlap with the
        // metadata structures is caught by the lowest bound for the usual layout.
        container.disk = VirtualDisk(image: image, size: metadata.virtualDiskSize,
                                     logicalSectorSize: Int(metadata.logicalSectorSize),
                                     map: .blocks(blockSize: bat.blockSize, blocks: blocks,
                                                  lowest: VHDXLayout.headerSectionSize, limit: image.size))
        return container
    }
}
