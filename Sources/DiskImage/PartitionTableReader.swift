/// Reads the partition table of a virtual disk: GPT (behind its protective MBR), MBR with
/// extended partitions, or none.
enum PartitionTableReader {
    struct Result {
        var kind: PartitionTableKind
        var identifier: String?
        var partitions: [PartitionInfo]
    }

    /// The most logical partitions followed in an extended partition chain; guards against loops.
    static let maxLogicalPartitions = 128

    static func read(_ disk: VirtualDisk) throws -> Result {
        let sectorSize = UInt64(disk.logicalSectorSize)
        guard disk.size >= sectorSize * 2 else { return Result(kind: .none, partitions: []) }
        // The MBR, a GPT header and its 128 entries (at LBA 1 and 2 with 512 or 4096-byte
        // sectors) in one round of I/O; with them the first 4 KiB at 1 MiB, where Windows,
        // parted, sgdisk and `appattachctl expand` start the first partition, so that its
        // filesystem's superblock is not one more round.
        disk.prefetch(24 << 10, at: 0)
        disk.prefetch(4096, at: 1 << 20)
        let sector0 = try disk.read(count: 512, at: 0)
        // A volume boot sector (NTFS) also ends in 0x55AA, and other filesystems start at byte 0:
        // a filesystem there means the disk has no partition table.
        let probe = try disk.read(count: min(FilesystemKind.probeSize, Int(disk.size)), at: 0)
        if [.ntfs, .squashfs, .xfs].contains(FilesystemKind.detect(probe)) {
            return Result(kind: .none, partitions: [])
        }
        guard let mbr = try? MBR(decoding: sector0), mbr.entries.contains(where: { !$0.isEmpty }) else {
            return Result(kind: .none, partitions: [])
        }
        if mbr.isProtective {
            let gpt = try GPT.read(diskSize: disk.size, sectorSize: disk.logicalSectorSize) { offset, count in
                try disk.read(count: count, at: offset)
            }
            let parts = gpt.partitions.map { number, e in
                PartitionInfo(number: number, type: e.typeGuid.description, typeName: PartitionTypes.name(gpt: e.typeGuid),
                              name: e.name, uniqueID: e.uniqueGuid.description, start: e.firstLBA * sectorSize,
                              size: (e.lastLBA - e.firstLBA + 1) * sectorSize,
                              isData: !PartitionTypes.nonDataGPT.contains(e.typeGuid))
            }
            return Result(kind: .gpt, identifier: gpt.diskGuid.description, partitions: parts)
        }
        let diskSectors = disk.size / sectorSize
        var parts: [PartitionInfo] = []
        func add(_ number: Int, _ e: MBR.Entry, base: UInt64) throws {
            let first = base + UInt64(e.firstLBA)
            guard first + UInt64(e.sectorCount) <= diskSectors else {
                throw DiskFormatError("MBR partition \(number) (sectors \(first)+\(e.sectorCount)) extends beyond the end of the disk (\(diskSectors) sectors)")
            }
            parts.append(PartitionInfo(number: number, type: "0x" + hex2(e.type), typeName: PartitionTypes.name(mbr: e.type),
                                       name: nil, uniqueID: nil, start: first * sectorSize,
                                       size: UInt64(e.sectorCount) * sectorSize,
                                       isData: !PartitionTypes.nonDataMBR.contains(e.type)))
        }
        for (i, e) in mbr.entries.enumerated() where !e.isEmpty {
            try add(i + 1, e, base: 0)
            if e.isExtended { try readLogical(disk, extendedStart: UInt64(e.firstLBA), into: &parts, add: add) }
        }
        let id = "0x" + String(mbr.diskSignature, radix: 16)
        return Result(kind: .mbr, identifier: id, partitions: parts)
    }

    /// Follows the EBR chain of an extended partition: each EBR's first entry is a logical
    /// partition relative to that EBR, its second the next EBR relative to the extended start.
    static func readLogical(_ disk: VirtualDisk, extendedStart: UInt64, into parts: inout [PartitionInfo],
                            add: (Int, MBR.Entry, UInt64) throws -> Void) throws {
        let sectorSize = UInt64(disk.logicalSectorSize)
        var ebr = extendedStart
        var seen: Set<UInt64> = []
        var number = 5
        while number < 5 + maxLogicalPartitions, !seen.contains(ebr), (ebr + 1) * sectorSize <= disk.size {
            seen.insert(ebr)
            guard let table = try? MBR(decoding: try disk.read(count: 512, at: ebr * sectorSize)) else { return }
            let logical = table.entries[0], next = table.entries[1]
            if !logical.isEmpty {
                try add(number, logical, ebr)
                number += 1
            }
            guard !next.isEmpty, next.isExtended else { return }
            ebr = extendedStart + UInt64(next.firstLBA)
        }
    }
}

func hex2(_ b: UInt8) -> String {
    let s = String(b, radix: 16)
    return s.count == 1 ? "0" + s : s
}
