/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of VHDX headers, region
/// tables and log entries (MS-VHDX §2.2.2: "CRC-32C … over the entire 4 KB structure, with the
/// Checksum field taking the value of zero during the computation").
///
/// A table-driven software implementation: the structures it covers are at most 64 KiB, read once
/// per open, so hardware CRC instructions would not be measurable.
public enum CRC32C {
    static let table: [UInt32] = (0..<256).map { (n: UInt32) -> UInt32 in
        var c = n
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    /// The CRC-32C of `bytes` (initial value all ones, final complement, as in iSCSI and VHDX).
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for b in bytes { crc = t[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        }
        return crc ^ 0xFFFF_FFFF
    }

    /// The checksum of `structure` computed with the 4-byte field at `fieldOffset` taken as zero,
    /// which is how every VHDX structure stores its own checksum.
    public static func checksum(_ structure: [UInt8], zeroingFieldAt fieldOffset: Int) -> UInt32 {
        var copy = structure
        copy.putLE32(0, at: fieldOffset)
        return checksum(copy)
    }
}
