import CLinuxShims

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of VHDX headers, region
/// tables and log entries (MS-VHDX §2.2.2: "CRC-32C … over the entire 4 KB structure, with the
/// Checksum field taking the value of zero during the computation").
///
/// Computed in C with the SSE4.2 `crc32` instruction where the CPU has it (a table elsewhere):
/// every stage reads two 64 KiB region tables, and a byte-wise table loop was a tenth of the
/// time `appattachctl destage` took.
public enum CRC32C {
    /// The CRC-32C of `bytes` (initial value all ones, final complement, as in iSCSI and VHDX).
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        let array = Array(bytes)
        let crc = array.withUnsafeBytes { raw in
            appattach_crc32c_update(0xFFFF_FFFF, raw.baseAddress, raw.count)
        }
        return crc ^ 0xFFFF_FFFF
    }

    /// The checksum of `structure` computed with the 4-byte field at `fieldOffset` taken as zero,
    /// which is how every VHDX structure stores its own checksum.
    public static func checksum(_ structure: [UInt8], zeroingFieldAt fieldOffset: Int) -> UInt32 {
        precondition(fieldOffset >= 0 && fieldOffset + 4 <= structure.count, "checksum field outside the structure")
        // In three runs (before the field, four zero bytes, after it) rather than on a copy with
        // the field zeroed: the structures are 64 KiB region tables, read on every stage.
        let zeros: [UInt8] = [0, 0, 0, 0]
        let crc = structure.withUnsafeBytes { raw in
            var crc = appattach_crc32c_update(0xFFFF_FFFF, raw.baseAddress, fieldOffset)
            crc = zeros.withUnsafeBytes { appattach_crc32c_update(crc, $0.baseAddress, 4) }
            return appattach_crc32c_update(crc, raw.baseAddress! + fieldOffset + 4, raw.count - fieldOffset - 4)
        }
        return crc ^ 0xFFFF_FFFF
    }
}
