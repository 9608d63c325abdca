/// The geometry of a VHDX block allocation table (MS-VHDX §2.5).
///
/// The BAT interleaves payload entries with sector bitmap entries: after every `chunkRatio`
/// payload entries comes one sector bitmap entry. Each entry is a little-endian u64 whose bits
/// 0–2 are the state and bits 20–63 the file offset in MiB (§2.5.1).
public struct VHDXBAT: Equatable, Sendable {
    public let blockSize: UInt64
    public let logicalSectorSize: UInt64
    public let virtualDiskSize: UInt64
    public let hasParent: Bool

    /// Payload block states (§2.5.1.1).
    public enum PayloadState: UInt8, Sendable {
        case notPresent = 0, undefined = 1, zero = 2, unmapped = 3
        /// "Unmapped" in the v0.95 draft, still written by old tools; qemu reads it as unmapped.
        case unmappedV095 = 5
        case fullyPresent = 6, partiallyPresent = 7
    }
    /// Sector bitmap block states (§2.5.1.2).
    public static let sectorBitmapNotPresent: UInt8 = 0
    public static let sectorBitmapPresent: UInt8 = 6

    public init(blockSize: UInt64, logicalSectorSize: UInt64, virtualDiskSize: UInt64, hasParent: Bool = false) {
        self.blockSize = blockSize
        self.logicalSectorSize = logicalSectorSize
        self.virtualDiskSize = virtualDiskSize
        self.hasParent = hasParent
    }

    /// (2^23 × LogicalSectorSize) / BlockSize: the payload blocks one sector bitmap block covers
    /// (a bitmap block is 1 MiB = 2^23 bits, one bit per sector). 2048 for 2 MiB blocks of 512 B.
    public var chunkRatio: UInt64 { (UInt64(1) << 23) * logicalSectorSize / blockSize }

    /// ceil(VirtualDiskSize / BlockSize).
    public var payloadBlockCount: UInt64 { (virtualDiskSize + blockSize - 1) / blockSize }

    /// ceil(PayloadBlocks / ChunkRatio).
    public var sectorBitmapBlockCount: UInt64 { (payloadBlockCount + chunkRatio - 1) / chunkRatio }

    /// The number of BAT entries (§2.5): for disks without a parent the table ends after the last
    /// payload entry, `PayloadBlocks + floor((PayloadBlocks − 1) / ChunkRatio)`; a differencing
    /// disk has whole chunks, `SectorBitmapBlocks × (ChunkRatio + 1)`.
    public var entryCount: UInt64 {
        if hasParent { return sectorBitmapBlockCount * (chunkRatio + 1) }
        return payloadBlockCount + (payloadBlockCount - 1) / chunkRatio
    }

    /// The BAT index of payload block `block`: one bitmap entry follows every chunk.
    public func payloadIndex(_ block: UInt64) -> UInt64 { block + block / chunkRatio }

    /// The BAT index of the sector bitmap entry of chunk `chunk`.
    public func sectorBitmapIndex(_ chunk: UInt64) -> UInt64 { chunk * (chunkRatio + 1) + chunkRatio }

    /// Encodes one entry: `state` in bits 0–2, `fileOffset` (a MiB multiple) in bits 20–63.
    public static func entry(state: UInt8, fileOffset: UInt64) -> UInt64 {
        precondition(fileOffset % VHDXLayout.alignment == 0)
        return fileOffset | UInt64(state & 7)
    }

    /// The state bits of an entry.
    public static func state(_ entry: UInt64) -> UInt8 { UInt8(entry & 7) }

    /// The file offset of an entry, in bytes.
    public static func fileOffset(_ entry: UInt64) -> UInt64 { (entry >> 20) << 20 }
}
