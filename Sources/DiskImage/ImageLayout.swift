/// The container format of an image file.
public enum ContainerKind: String, Codable, Sendable {
    case raw
    case vhdFixed = "vhd-fixed"
    case vhdDynamic = "vhd-dynamic"
    case vhdDifferencing = "vhd-differencing"
    case vhdxFixed = "vhdx-fixed"
    case vhdxDynamic = "vhdx-dynamic"
    case vhdxDifferencing = "vhdx-differencing"
}

/// The container formats the writer produces.
public enum ContainerFormat: String, Codable, Sendable, CaseIterable {
    case vhdx, vhd
}

/// The partition table found on a virtual disk.
public enum PartitionTableKind: String, Codable, Sendable {
    /// The filesystem starts at the first byte of the disk.
    case none
    case mbr
    case gpt
    /// Not read, because the disk's contents depend on a parent image.
    case unknown
}

/// A partition, in bytes of the virtual disk.
public struct PartitionInfo: Equatable, Sendable, Codable {
    /// 1-based, as Linux numbers them (MBR logical partitions start at 5).
    public var number: Int
    /// GPT type GUID, or the MBR type byte as `0x83`.
    public var type: String
    /// A readable name for `type`, or "unknown".
    public var typeName: String
    /// The GPT partition name (MBR has none).
    public var name: String?
    /// The GPT unique partition GUID.
    public var uniqueID: String?
    /// Offset on the virtual disk.
    public var start: UInt64
    public var size: UInt64
    /// False for EFI system, BIOS boot, Microsoft reserved, swap and extended partitions.
    public var isData: Bool

    public init(number: Int, type: String, typeName: String, name: String?, uniqueID: String?,
                start: UInt64, size: UInt64, isData: Bool) {
        self.number = number; self.type = type; self.typeName = typeName; self.name = name
        self.uniqueID = uniqueID; self.start = start; self.size = size; self.isData = isData
    }
}

/// A byte range of the image file.
public struct FileRange: Equatable, Sendable, Codable {
    public var offset: UInt64
    public var size: UInt64

    public init(offset: UInt64, size: UInt64) {
        self.offset = offset
        self.size = size
    }
}

/// What an image file holds and how to attach it: container, virtual disk, partitions, the
/// filesystem of the chosen partition, and the byte range a loop device must map for it.
public struct ImageLayout: Equatable, Sendable {
    public var path: String
    public var fileSize: UInt64
    public var container: ContainerKind
    /// Size of the virtual disk (for raw files, the file size).
    public var virtualSize: UInt64
    /// Allocation block size of dynamic VHD and any VHDX.
    public var blockSize: UInt64?
    public var logicalSectorSize: Int
    public var physicalSectorSize: Int?
    /// The VHDX virtual disk id (page 83) or the VHD unique id.
    public var diskID: String?
    /// Differencing disks: the parent's name or locator.
    public var parent: String?
    public var partitionTable: PartitionTableKind
    /// The GPT disk GUID, or the MBR disk signature as `0x1234abcd`.
    public var partitionTableID: String?
    public var partitions: [PartitionInfo]
    /// The partition holding the filesystem (first data partition); nil when the filesystem
    /// spans the whole disk or the disk could not be read.
    public var selectedPartition: Int?
    /// The filesystem found by magic in the selected partition (or the whole disk).
    public var filesystem: FilesystemKind
    /// The byte range of the image file that holds that filesystem contiguously: attach with
    /// `offset` and `sizelimit` set to these values. Nil when no single range does.
    public var mapping: FileRange?
    /// Why `mapping` is nil.
    public var unmappableReason: String?

    /// The mapping, or a `DiskImageError` giving the reason there is none.
    public func requireMapping() throws -> FileRange {
        if let mapping { return mapping }
        throw DiskImageError(path: path, reason: "cannot be attached with one loop device: \(unmappableReason ?? "no filesystem range")")
    }
}
