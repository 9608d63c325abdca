/// Reads raw, VHD and VHDX images: what they contain and which byte range of the file a loop
/// device must map to reach the filesystem.
///
/// Everything read from the file is validated before use: checksums of every checksummed
/// structure, and every offset and length against the file size. Images that cannot be read
/// safely (VHDX with a log to replay, unknown required regions or metadata, bad checksums,
/// truncation) are refused with a `DiskImageError` naming the file.
public enum DiskImageReader {
    /// What the container says about the virtual disk, before partitions are read.
    struct Container {
        var kind: ContainerKind
        var virtualSize: UInt64
        var blockSize: UInt64?
        var logicalSectorSize: Int = 512
        var physicalSectorSize: Int?
        var diskID: String?
        var parent: String?
        /// The disk's contents; nil for differencing disks, whose data depends on the parent.
        var disk: VirtualDisk?
    }

    /// Describes the image at `path`. Throws `DiskImageError` for images that are corrupt or must
    /// not be read (see the type's documentation); an image that is valid but cannot be mapped
    /// by one loop device is described with `mapping == nil` and the reason.
    public static func inspect(_ path: String) throws -> ImageLayout {
        let image = try ImageFile(path: path)
        let container = try naming(path) { try open(image) }
        var layout = ImageLayout(path: path, fileSize: image.size, container: container.kind,
                                 virtualSize: container.virtualSize, blockSize: container.blockSize,
                                 logicalSectorSize: container.logicalSectorSize,
                                 physicalSectorSize: container.physicalSectorSize, diskID: container.diskID,
                                 parent: container.parent, partitionTable: .unknown, partitionTableID: nil,
                                 partitions: [], selectedPartition: nil, filesystem: .unknown,
                                 mapping: nil, unmappableReason: nil)
        guard let disk = container.disk else {
            layout.unmappableReason = "a differencing disk's data depends on its parent \(container.parent.map { "'\($0)'" } ?? "image")"
            return layout
        }
        let table = try naming(path) { try PartitionTableReader.read(disk) }
        layout.partitionTable = table.kind
        layout.partitionTableID = table.identifier
        layout.partitions = table.partitions

        // The filesystem lives in the first data partition, or on the whole disk.
        let volume: Range<UInt64>
        if table.kind == .none {
            volume = 0..<disk.size
        } else if let chosen = table.partitions.first(where: { $0.isData && $0.size > 0 }) {
            layout.selectedPartition = chosen.number
            volume = chosen.start..<(chosen.start + chosen.size)
        } else {
            layout.unmappableReason = "the \(table.kind.rawValue.uppercased()) partition table has no data partition"
            return layout
        }
        layout.filesystem = FilesystemKind.detect(
            try disk.read(count: Int(min(UInt64(FilesystemKind.probeSize), UInt64(volume.count))), at: volume.lowerBound))

        let extents = try disk.extents(of: volume)
        if extents.count == 1, case let .file(offset, length) = extents[0] {
            layout.mapping = FileRange(offset: offset, size: length)
        } else {
            layout.unmappableReason = describeGaps(extents, blockSize: container.blockSize)
        }
        return layout
    }

    /// Opens the virtual disk of the image at `path` for reading its guest-visible bytes.
    /// Throws for differencing disks, whose data this reader cannot assemble.
    public static func openVirtualDisk(_ path: String) throws -> VirtualDisk {
        let image = try ImageFile(path: path)
        let container = try naming(path) { try open(image) }
        guard let disk = container.disk else {
            throw image.error("differencing disk: its data depends on its parent and cannot be read alone")
        }
        return disk
    }

    /// Recognises the container by its signatures: `vhdxfile` at 0, `conectix` in the last 512
    /// bytes, else raw.
    static func open(_ image: ImageFile) throws -> Container {
        guard image.size > 0 else { throw DiskFormatError("empty file") }
        // One round of I/O for what every kind reads first: a VHDX's identifier, headers and
        // region table, a VHD's footer, a raw or VHD disk's partition table.
        image.prefetch(VHDXLayout.regionTable2Offset, at: 0)
        if image.size >= 512 { image.prefetch(512, at: image.size - 512) }
        // And, in the same round, where the next rounds' structures usually are, so that a cold
        // image waits for one round of reads rather than three: a VHDX's metadata region and
        // BAT at 2 and 3 MiB (either way round), and the partition table and first superblock of
        // its payload at 4 and 5 MiB (the layout `expand` writes); a raw or VHD disk's first
        // partition at 1 MiB. A guess that misses reads some 70 KiB for nothing; what is read
        // next never depends on it.
        for (count, offset) in Self.likelyStructures { image.prefetch(count, at: offset) }
        let head = try image.read("file start", at: 0, count: Int(min(image.size, 512)))
        if head.matches("vhdxfile") { return try openVHDX(image) }
        if image.size >= 512 {
            let tail = try image.read("VHD footer", at: image.size - 512, count: 512)
            if VHDFooter.hasCookie(tail) { return try openVHD(image, footer: tail) }
        }
        if head.count == 512, VHDFooter.hasCookie(head) {
            // Dynamic disks start with a footer copy; without the footer at the end the file
            // was cut short.
            throw DiskFormatError("VHD footer copy at the start but no footer at the end; the file is truncated")
        }
        let disk = VirtualDisk(image: image, size: image.size, logicalSectorSize: rawSectorSize(image),
                               map: .linear(base: 0))
        return Container(kind: .raw, virtualSize: image.size, logicalSectorSize: disk.logicalSectorSize, disk: disk)
    }

    /// Byte counts and offsets of the structures `open` guesses at: at 2 and 3 MiB a VHDX
    /// metadata table (its start; its items follow the 64 KiB table) or the start of its BAT,
    /// a GPT at 4 MiB, a filesystem superblock at 1 and 5 MiB.
    static let likelyStructures: [(UInt64, UInt64)] = [
        (4096, 1 << 20), (16 << 10, 2 << 20), (4096, (2 << 20) + (64 << 10)), (16 << 10, 3 << 20),
        (4096, (3 << 20) + (64 << 10)), (24 << 10, 4 << 20), (4096, 5 << 20),
    ]

    /// Raw disks carry no sector size: assume 512 unless a GPT header sits at 4096 instead of 512.
    static func rawSectorSize(_ image: ImageFile) -> Int {
        if image.contains(512, 8), let b = try? image.read("GPT header", at: 512, count: 8), b.matches("EFI PART") { return 512 }
        if image.contains(4096, 8), let b = try? image.read("GPT header", at: 4096, count: 8), b.matches("EFI PART") { return 4096 }
        return 512
    }

    /// Explains why a range is not one contiguous piece of the file.
    static func describeGaps(_ extents: [DiskExtent], blockSize: UInt64?) -> String {
        let absent = extents.reduce(UInt64(0)) { sum, e in
            if case let .zero(l) = e { return sum + l }
            return sum
        }
        let unit = blockSize.map { ", block size \($0)" } ?? ""
        if absent > 0 {
            return "\(absent) bytes of the filesystem's range are in blocks the image does not store (absent or zero blocks\(unit)); a loop device can only map stored data"
        }
        return "the filesystem's blocks are stored in separate pieces, not contiguously in order (\(extents.count) extents\(unit))"
    }
}
