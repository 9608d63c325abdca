/// The parameters a VHDX metadata region describes (MS-VHDX §2.6), and its encoding.
///
/// The region starts with a 64 KiB table (§2.6.1) of 32-byte entries pointing at items stored
/// after the table, inside the region.
public struct VHDXMetadata: Equatable, Sendable {
    /// Size of the metadata table at the start of the region; items live after it (§2.6.1.2:
    /// "Offset … MUST be at least 64 KB").
    public static let tableSize = 64 * 1024
    public static let maxEntries = 2047
    /// The table's header: signature, reserved, entry count; the 32-byte entries follow.
    public static let headerSize = 32

    // Item ids (§2.6.2).
    public static let fileParametersGuid = GUID("CAA16737-FA36-4D43-B3B6-33F0AA44E76B")!
    public static let virtualDiskSizeGuid = GUID("2FA54224-CD1B-4876-B211-5DBED83BF4B8")!
    public static let page83Guid = GUID("BECA12AB-B2E6-4523-93EF-C309E000C746")!
    public static let logicalSectorSizeGuid = GUID("8141BF1D-A96F-4709-BA47-F233A8FAAB5F")!
    public static let physicalSectorSizeGuid = GUID("CDA348C7-445D-4471-9CC9-E9885251C556")!
    public static let parentLocatorGuid = GUID("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C")!

    /// Block size: a power of two from 1 MiB to 256 MiB (§2.6.2.1).
    public var blockSize: UInt32
    /// "LeaveBlockAllocated": the file is fully provisioned, i.e. a fixed VHDX (§2.6.2.1).
    public var leaveBlockAllocated: Bool
    /// "HasParent": a differencing VHDX.
    public var hasParent: Bool
    /// Virtual disk size in bytes, a multiple of the logical sector size (§2.6.2.2).
    public var virtualDiskSize: UInt64
    /// The SCSI page 83 identifier of the virtual disk (§2.6.2.3).
    public var virtualDiskID: GUID
    /// 512 or 4096 (§2.6.2.4, §2.6.2.5).
    public var logicalSectorSize: UInt32
    public var physicalSectorSize: UInt32

    public init(blockSize: UInt32, leaveBlockAllocated: Bool, hasParent: Bool = false, virtualDiskSize: UInt64,
                virtualDiskID: GUID, logicalSectorSize: UInt32, physicalSectorSize: UInt32) {
        self.blockSize = blockSize
        self.leaveBlockAllocated = leaveBlockAllocated
        self.hasParent = hasParent
        self.virtualDiskSize = virtualDiskSize
        self.virtualDiskID = virtualDiskID
        self.logicalSectorSize = logicalSectorSize
        self.physicalSectorSize = physicalSectorSize
    }

    // Entry flags (§2.6.1.2): bit 0 IsUser, bit 1 IsVirtualDisk, bit 2 IsRequired.
    static let isVirtualDisk: UInt32 = 1 << 1
    static let isRequired: UInt32 = 1 << 2

    /// The table followed by the items, `tableSize + 40` bytes; the rest of the region is zero.
    /// Flags follow §2.6.2: file parameters are required; the others also describe the virtual disk.
    public func encoded() -> [UInt8] {
        var fileParameters = [UInt8](repeating: 0, count: 8)
        fileParameters.putLE32(blockSize, at: 0)
        fileParameters.putLE32((leaveBlockAllocated ? 1 : 0) | (hasParent ? 2 : 0), at: 4)
        var size = [UInt8](repeating: 0, count: 8)
        size.putLE64(virtualDiskSize, at: 0)
        var logical = [UInt8](repeating: 0, count: 4)
        logical.putLE32(logicalSectorSize, at: 0)
        var physical = [UInt8](repeating: 0, count: 4)
        physical.putLE32(physicalSectorSize, at: 0)
        let items: [(GUID, [UInt8], UInt32)] = [
            (Self.fileParametersGuid, fileParameters, Self.isRequired),
            (Self.virtualDiskSizeGuid, size, Self.isRequired | Self.isVirtualDisk),
            (Self.page83Guid, virtualDiskID.mixedEndianBytes, Self.isRequired | Self.isVirtualDisk),
            (Self.logicalSectorSizeGuid, logical, Self.isRequired | Self.isVirtualDisk),
            (Self.physicalSectorSizeGuid, physical, Self.isRequired | Self.isVirtualDisk),
        ]
        var b = [UInt8](repeating: 0, count: Self.tableSize)
        b.put(ascii: "metadata", at: 0)
        b.putLE16(UInt16(items.count), at: 10)
        for (i, (guid, data, flags)) in items.enumerated() {
            let o = 32 + 32 * i
            b.put(guid.mixedEndianBytes, at: o)
            b.putLE32(UInt32(b.count), at: o + 16)
            b.putLE32(UInt32(data.count), at: o + 20)
            b.putLE32(flags, at: o + 24)
            b.append(contentsOf: data)
        }
        return b
    }

    /// Parses a whole metadata region held in memory.
    public init(decodingRegion region: [UInt8]) throws(DiskFormatError) {
        guard region.count >= Self.tableSize else { throw DiskFormatError("VHDX metadata region is shorter than its table") }
        do {
            try self.init(table: Array(region[0..<Self.tableSize]), regionLength: UInt64(region.count)) { offset, length in
                region.bytes(Int(offset), length)
            }
        } catch let error as DiskFormatError {
            throw error
        } catch {
            throw DiskFormatError("\(error)")
        }
    }

    /// Parses the metadata table (its header and the entries it counts at least; on disk it is
    /// 64 KiB) and reads the known items through `readItem(offset within the region, length)`.
    /// Every item offset and length is checked against the region before it is read; unknown
    /// required items refuse; unknown optional items are not read.
    public init(table: [UInt8], regionLength: UInt64, readItem: (UInt64, Int) throws -> [UInt8]) throws {
        guard table.count >= Self.headerSize, table.matches("metadata") else {
            throw DiskFormatError("no VHDX metadata table signature 'metadata'")
        }
        let count = Int(table.le16(10))
        guard count <= Self.maxEntries else { throw DiskFormatError("VHDX metadata table has \(count) entries (at most 2047)") }
        guard table.count >= Self.headerSize + 32 * count else {
            throw DiskFormatError("VHDX metadata table is cut short: \(count) entries need \(Self.headerSize + 32 * count) bytes")
        }
        let known = [Self.fileParametersGuid, Self.virtualDiskSizeGuid, Self.page83Guid,
                     Self.logicalSectorSizeGuid, Self.physicalSectorSizeGuid, Self.parentLocatorGuid]
        // An array, not [GUID: …]: a dictionary keyed by GUID makes the runtime look up GUID's
        // Hashable conformance, which in a large static executable costs more than this whole table.
        var items: [Item] = []
        for i in 0..<count {
            let o = 32 + 32 * i
            let id = GUID(mixedEndian: table, at: o)
            let offset = UInt64(table.le32(o + 16)), length = UInt64(table.le32(o + 20))
            let flags = table.le32(o + 24)
            if length > 0 {
                guard offset >= UInt64(Self.tableSize), offset <= regionLength, length <= regionLength - offset else {
                    throw DiskFormatError("VHDX metadata item \(id) at \(offset) length \(length) lies outside the metadata region")
                }
            }
            guard known.contains(id) || flags & Self.isRequired == 0 else {
                throw DiskFormatError("VHDX has an unknown required metadata item \(id); this reader cannot load it")
            }
            items.append(Item(id: id, offset: offset, length: length))
        }
        // Sorted by GUID, a repeated item sits next to its twin.
        items.sort { $0.id.textOrderBytes.lexicographicallyPrecedes($1.id.textOrderBytes) }
        var i = 1
        while i < items.count {
            guard items[i].id != items[i - 1].id else { throw DiskFormatError("VHDX metadata item \(items[i].id) appears twice") }
            i += 1
        }
        func item(_ id: GUID, _ name: String, _ size: Int) throws -> [UInt8] {
            guard let found = items.first(where: { $0.id == id }) else { throw DiskFormatError("VHDX metadata lacks the \(name) item") }
            let (offset, length) = (found.offset, found.length)
            guard length == UInt64(size) else { throw DiskFormatError("VHDX metadata \(name) item is \(length) bytes, expected \(size)") }
            return try readItem(offset, size)
        }
        let fp = try item(Self.fileParametersGuid, "file parameters", 8)
        blockSize = fp.le32(0)
        leaveBlockAllocated = fp.le32(4) & 1 != 0
        hasParent = fp.le32(4) & 2 != 0
        virtualDiskSize = try item(Self.virtualDiskSizeGuid, "virtual disk size", 8).le64(0)
        virtualDiskID = GUID(mixedEndian: try item(Self.page83Guid, "page 83 data", 16))
        logicalSectorSize = try item(Self.logicalSectorSizeGuid, "logical sector size", 4).le32(0)
        physicalSectorSize = try item(Self.physicalSectorSizeGuid, "physical sector size", 4).le32(0)
        try validate()
    }

    /// One entry of the metadata table.
    private struct Item { let id: GUID, offset: UInt64, length: UInt64 }

    /// The value rules of §2.6.2.
    func validate() throws(DiskFormatError) {
        guard blockSize >= 1 << 20, blockSize <= 256 << 20, isPowerOfTwo(UInt64(blockSize)) else {
            throw DiskFormatError("VHDX block size \(blockSize) is not a power of two from 1 MiB to 256 MiB")
        }
        guard logicalSectorSize == 512 || logicalSectorSize == 4096 else {
            throw DiskFormatError("VHDX logical sector size \(logicalSectorSize) is neither 512 nor 4096")
        }
        guard physicalSectorSize == 512 || physicalSectorSize == 4096 else {
            throw DiskFormatError("VHDX physical sector size \(physicalSectorSize) is neither 512 nor 4096")
        }
        guard virtualDiskSize > 0, virtualDiskSize % UInt64(logicalSectorSize) == 0,
              virtualDiskSize <= 64 * 1024 * Size.gib else {
            throw DiskFormatError("VHDX virtual disk size \(virtualDiskSize) is zero, above 64 TiB, or not a multiple of the sector size")
        }
    }
}
