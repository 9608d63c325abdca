import CZlib

/// CRC-32 (ISO-HDLC, the zlib/Ethernet polynomial), the checksum of GPT headers and partition
/// entry arrays (UEFI 2.10 §5.3.2: "CRC32 checksum for the GPT Header structure … computed …
/// with this field set to zero").
public enum CRC32 {
    /// The CRC-32 of `bytes`, computed by zlib.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            var crc = crc32(0, nil, 0)
            var offset = 0
            // zlib takes a uInt length; feed large arrays in slices that fit.
            while offset < buffer.count {
                let n = min(buffer.count - offset, 1 << 30)
                crc = crc32(crc, buffer.baseAddress! + offset, uInt(n))
                offset += n
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }

    /// The checksum of `structure` with the 4-byte field at `fieldOffset` taken as zero.
    public static func checksum(_ structure: [UInt8], zeroingFieldAt fieldOffset: Int) -> UInt32 {
        var copy = structure
        copy.putLE32(0, at: fieldOffset)
        return checksum(copy)
    }
}
