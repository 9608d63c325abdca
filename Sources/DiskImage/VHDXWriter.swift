/// Builds the front matter of a fixed VHDX whose payload blocks are stored in order right after
/// the BAT (MS-VHDX §2): identifier, two headers, two region tables, metadata and BAT. The log
/// region is left zero and the headers' LogGuid zero, which is an empty log (§2.2.2.1).
enum VHDXWriter {
    /// The creator string in the file identifier (§2.2.1, informational).
    static let creator = "appattach"

    /// `(file offset, bytes)` pieces; everything not covered reads as zero.
    static func frontMatter(_ plan: WrapPlan) -> [(UInt64, [UInt8])] {
        precondition(plan.format == .vhdx)
        let fileWrite = GUID.random(), dataWrite = GUID.random()
        // Two valid headers; the second's higher sequence number makes it current (§2.2.2.1).
        func header(_ sequence: UInt64) -> [UInt8] {
            VHDXHeader(sequenceNumber: sequence, fileWriteGuid: fileWrite, dataWriteGuid: dataWrite, logGuid: .zero,
                       logLength: UInt32(WrapPlan.vhdxLogLength), logOffset: WrapPlan.vhdxLogOffset).encoded()
        }
        let regions = VHDXRegionTable(entries: [
            .init(guid: VHDXRegionTable.batGuid, fileOffset: WrapPlan.vhdxBATOffset, length: UInt32(plan.batLength), required: true),
            .init(guid: VHDXRegionTable.metadataGuid, fileOffset: WrapPlan.vhdxMetadataOffset,
                  length: UInt32(WrapPlan.vhdxMetadataLength), required: true),
        ]).encoded()
        let metadata = VHDXMetadata(blockSize: UInt32(WrapPlan.vhdxBlockSize), leaveBlockAllocated: true,
                                    virtualDiskSize: plan.diskSize, virtualDiskID: .random(),
                                    logicalSectorSize: UInt32(WrapPlan.vhdxLogicalSectorSize),
                                    physicalSectorSize: UInt32(WrapPlan.vhdxPhysicalSectorSize)).encoded()
        return [
            (VHDXLayout.fileIdentifierOffset, VHDXFileIdentifier(creator: creator).encoded()),
            (VHDXLayout.header1Offset, header(1)),
            (VHDXLayout.header2Offset, header(2)),
            (VHDXLayout.regionTable1Offset, regions),
            (VHDXLayout.regionTable2Offset, regions),
            (WrapPlan.vhdxMetadataOffset, metadata),
            (WrapPlan.vhdxBATOffset, batBytes(plan)),
        ]
    }

    /// Every payload block FULLY_PRESENT at `diskOffset + i × blockSize`; sector bitmap entries
    /// NOT_PRESENT, as §2.5 requires for disks without a parent.
    static func batBytes(_ plan: WrapPlan) -> [UInt8] {
        let bat = plan.bat
        var bytes = [UInt8](repeating: 0, count: Int(bat.entryCount * 8))
        for block in 0..<bat.payloadBlockCount {
            let entry = VHDXBAT.entry(state: VHDXBAT.PayloadState.fullyPresent.rawValue,
                                      fileOffset: plan.diskOffset + block * bat.blockSize)
            bytes.putLE64(entry, at: Int(bat.payloadIndex(block) * 8))
        }
        return bytes
    }
}

/// Builds the footer of a fixed VHD.
enum VHDWriter {
    /// Creator application "apat" (appattach). Four bytes of free text per the spec; qemu reads
    /// sizes of unknown creators from the geometry, which the plan makes exact.
    static let creatorApplication = "apat"
    static let creatorVersion: UInt32 = 0x0001_0000
    /// "Wi2k": the spec defines only Windows and Macintosh host values.
    static let hostOSWindows: UInt32 = 0x5769_326B

    static func footer(_ plan: WrapPlan, now: Int64) -> [UInt8] {
        precondition(plan.format == .vhd)
        let timestamp = UInt32(clamping: max(0, now - VHDFooter.epoch))
        return VHDFooter(dataOffset: VHDFooter.noDataOffset, timestamp: timestamp, creatorApplication: creatorApplication,
                         creatorVersion: creatorVersion, creatorHostOS: hostOSWindows, size: plan.diskSize,
                         geometry: plan.geometry!, diskType: .fixed, uniqueID: .random()).encoded()
    }
}
