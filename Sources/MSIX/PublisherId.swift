import Crypto

/// The 13-character publisher id that makes package family names unique per publisher.
///
/// Windows derives it from the `Publisher` distinguished name: SHA-256 of its UTF-16LE bytes,
/// the first 8 bytes read as 64 bits most significant first, padded with one zero bit to 65
/// bits, and written as thirteen 5-bit groups in Crockford-like base32 (no `i l o u`).
/// `CN=Microsoft Corporation, O=Microsoft Corporation, L=Redmond, S=Washington, C=US` gives
/// `8wekyb3d8bbwe`.
public enum PublisherId {
    private static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz")

    /// The publisher id of `publisher`.
    public static func of(_ publisher: String) -> String {
        var utf16LE: [UInt8] = []
        utf16LE.reserveCapacity(publisher.utf16.count * 2)
        for unit in publisher.utf16 {
            utf16LE.append(UInt8(truncatingIfNeeded: unit))
            utf16LE.append(UInt8(truncatingIfNeeded: unit >> 8))
        }
        let digest = Array(SHA256.hash(data: utf16LE))
        let prefix = digest[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        var result = ""
        for group in 0..<13 {
            // Bits are numbered from the most significant; bit 64 is the zero pad.
            var value = 0
            for bit in (group * 5)..<(group * 5 + 5) {
                let set = bit < 64 && (prefix >> UInt64(63 - bit)) & 1 == 1
                value = value << 1 | (set ? 1 : 0)
            }
            result.append(alphabet[value])
        }
        return result
    }
}
