/// Where everything goes when a filesystem file becomes a fixed VHD or VHDX.
///
/// The virtual disk is a GPT disk with one partition at 1 MiB holding the filesystem, followed by
/// padding and the backup GPT. The filesystem's bytes never move relative to each other: the
/// container's front matter plus the first 1 MiB of the disk are inserted before them, and the
/// rest is appended, so the partition is one contiguous range of the file.
///
///     VHD:  [MBR+GPT, 1 MiB][filesystem][pad][backup GPT][footer 512 B]
///     VHDX: [header section 1 MiB][log 1 MiB][metadata 1 MiB][BAT n MiB]
///           [MBR+GPT, 1 MiB][filesystem][pad][backup GPT]
struct WrapPlan: Equatable {
    /// The partition starts 1 MiB into the disk, the alignment Windows, parted and sgdisk use.
    static let partitionStart: UInt64 = Size.mib
    /// Sectors the backup GPT needs at the end: 32 sectors of entries (128 × 128 B) and the header.
    static let backupGPTSize: UInt64 = 33 * 512
    /// Partitions end on a 4 KiB boundary, the physical sector size declared in VHDX.
    static let partitionAlignment: UInt64 = 4096
    /// VHD readers limit the size to 2040 GiB (Hyper-V; qemu `vpc` enforces the same).
    static let maxVHDSize: UInt64 = 2040 * Size.gib
    /// MS-VHDX §2.6.2.2: at most 64 TiB.
    static let maxVHDXSize: UInt64 = 64 * 1024 * Size.gib

    /// VHDX block size. The image is fixed (every block allocated, LeaveBlockAllocated) and
    /// never grows, so the block size only sets the BAT's granularity: it does not change how data
    /// is stored. The smallest legal value, 1 MiB (§2.6.2.1), makes the virtual size (already a
    /// MiB multiple) a whole number of blocks, so no partial last block needs padding, and keeps
    /// the BAT at 8 bytes per MiB. qemu's defaults (8–32 MiB) and Hyper-V's (32 MiB) are chosen
    /// for dynamic disks, where large blocks mean fewer allocations; that does not apply here.
    static let vhdxBlockSize: UInt64 = Size.mib
    /// MS-VHDX §2.6.2.5: the disk presents 4 KiB physical sectors, which is also the
    /// filesystems' block size; 512-byte logical sectors keep every tool able to read the GPT.
    static let vhdxLogicalSectorSize: UInt64 = 512
    static let vhdxPhysicalSectorSize: UInt64 = 4096
    // The VHDX regions, each 1 MiB aligned (§2.2.3.2), in the order qemu lays them out.
    static let vhdxLogOffset: UInt64 = 1 * Size.mib
    static let vhdxLogLength: UInt64 = 1 * Size.mib
    static let vhdxMetadataOffset: UInt64 = 2 * Size.mib
    static let vhdxMetadataLength: UInt64 = 1 * Size.mib
    static let vhdxBATOffset: UInt64 = 3 * Size.mib

    let format: ContainerFormat
    /// Bytes of the filesystem file.
    let filesystemSize: UInt64
    /// The partition's size: the filesystem rounded up to whole 4 KiB sectors.
    let partitionSize: UInt64
    /// The virtual disk's size.
    let diskSize: UInt64
    /// The file offset of the virtual disk's first byte (0 for VHD).
    let diskOffset: UInt64
    /// VHD only: the geometry that describes `diskSize` exactly.
    let geometry: VHDGeometry?
    /// VHDX only: the BAT region's length.
    let batLength: UInt64

    /// Bytes inserted before the filesystem: the container's front matter and the first MiB of
    /// the disk. A multiple of 1 MiB, so it suits `FALLOC_FL_INSERT_RANGE` on any block size.
    var prefix: UInt64 { diskOffset + Self.partitionStart }
    /// The size of the finished file.
    var fileSize: UInt64 { diskOffset + diskSize + (format == .vhd ? UInt64(VHDFooter.size) : 0) }
    /// Where the filesystem ends up in the file.
    var filesystemRange: FileRange { FileRange(offset: prefix, size: partitionSize) }

    /// The VHDX BAT geometry for this disk.
    var bat: VHDXBAT {
        VHDXBAT(blockSize: Self.vhdxBlockSize, logicalSectorSize: Self.vhdxLogicalSectorSize, virtualDiskSize: diskSize)
    }

    /// Plans a disk for a filesystem of `filesystemSize` bytes. `virtualSize`, when given, is a
    /// minimum: it is rounded up to what the container can describe exactly (a MiB multiple for
    /// VHDX, a CHS geometry for VHD).
    init(format: ContainerFormat, filesystemSize: UInt64, virtualSize: UInt64? = nil) throws(DiskFormatError) {
        guard filesystemSize > 0 else { throw DiskFormatError("the filesystem file is empty") }
        self.format = format
        self.filesystemSize = filesystemSize
        partitionSize = roundUp(filesystemSize, to: Self.partitionAlignment)
        let needed = roundUp(Self.partitionStart + partitionSize + Self.backupGPTSize, to: Size.mib)
        if let virtualSize, virtualSize < needed {
            throw DiskFormatError("requested virtual size \(virtualSize) is smaller than the \(needed) bytes the filesystem and partition table need")
        }
        let wanted = max(needed, virtualSize ?? 0)
        switch format {
        case .vhd:
            // Readers that size a VHD by its CHS geometry (Virtual PC, qemu for most creators)
            // and those that use the current size (Hyper-V) agree only when the geometry covers
            // the size exactly, so the size grows to the next geometry (under 2 MiB extra).
            let (g, sectors) = VHDGeometry.covering(sectors: roundUp(wanted, to: 512) / 512)
            diskSize = sectors * 512
            geometry = g
            guard diskSize <= Self.maxVHDSize else { throw DiskFormatError("a VHD holds at most 2040 GiB; \(diskSize) bytes requested") }
            diskOffset = 0
            batLength = 0
        case .vhdx:
            diskSize = roundUp(wanted, to: Self.vhdxBlockSize)
            guard diskSize <= Self.maxVHDXSize else { throw DiskFormatError("a VHDX holds at most 64 TiB; \(diskSize) bytes requested") }
            geometry = nil
            let entries = VHDXBAT(blockSize: Self.vhdxBlockSize, logicalSectorSize: Self.vhdxLogicalSectorSize,
                                  virtualDiskSize: diskSize).entryCount
            batLength = roundUp(entries * 8, to: Size.mib)
            diskOffset = Self.vhdxBATOffset + batLength
        }
    }
}
