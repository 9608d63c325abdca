/// The 1024-byte dynamic disk header of dynamic and differencing VHDs ("Dynamic Disk Header
/// Format", VHD specification v1.0), big-endian, found at the footer's `dataOffset`.
public struct VHDDynamicHeader: Equatable, Sendable {
    public static let size = 1024
    /// "Absolute byte offset of the Block Allocation Table (BAT) in the file."
    public var tableOffset: UInt64
    /// Entries in the BAT; at least the number of blocks of the disk.
    public var maxTableEntries: UInt32
    /// Bytes of disk data per block (the spec's default is 2 MiB). Each block in the file is a
    /// sector bitmap followed by this many bytes of data.
    public var blockSize: UInt32
    /// The parent's unique id and name (differencing disks only).
    public var parentUniqueID: [UInt8]
    public var parentName: String

    /// The checksum rule: like the footer's, with the checksum field at offset 36.
    public static func checksum(_ header: [UInt8]) -> UInt32 {
        var sum: UInt32 = 0
        for (i, b) in header.enumerated() where !(36..<40).contains(i) { sum &+= UInt32(b) }
        return ~sum
    }

    /// Decodes and validates cookie, checksum, version and block size.
    public init(decoding b: [UInt8]) throws(DiskFormatError) {
        guard b.count == Self.size, b.matches("cxsparse") else {
            throw DiskFormatError("no VHD dynamic header cookie 'cxsparse' where the footer points")
        }
        let stored = b.be32(36), computed = Self.checksum(b)
        guard stored == computed else {
            throw DiskFormatError("VHD dynamic header checksum is \(hex32(stored)), expected \(hex32(computed))")
        }
        guard b.be32(24) >> 16 == 1 else {
            throw DiskFormatError("VHD dynamic header has unsupported version \(hex32(b.be32(24)))")
        }
        tableOffset = b.be64(16)
        maxTableEntries = b.be32(28)
        blockSize = b.be32(32)
        parentUniqueID = b.bytes(40, 16)
        parentName = decodeUTF16(b.bytes(64, 512), bigEndian: true)
        // Powers of two from one sector; qemu's vpc driver and Hyper-V use 512 KiB or 2 MiB.
        guard blockSize >= 512, isPowerOfTwo(UInt64(blockSize)) else {
            throw DiskFormatError("VHD dynamic header has invalid block size \(blockSize)")
        }
    }

    /// The size of the sector bitmap before each block's data: one bit per 512-byte sector,
    /// rounded up to a whole sector (spec, "Block Allocation Table and Data Blocks").
    public var bitmapSize: UInt64 { roundUp(UInt64(blockSize) / 512 / 8, to: 512) }
}
