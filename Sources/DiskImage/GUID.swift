/// A 128-bit identifier as VHDX and GPT store it.
///
/// Both formats use the Microsoft GUID layout (MS-VHDX §1.3 "GUID"; UEFI 2.10 Appendix A): the
/// first three fields (`Data1` u32, `Data2` u16, `Data3` u16) are little-endian on disk, the last
/// eight bytes are stored in text order. So `0FC63DAF-8483-4772-8E79-3D69D8477DE4` is the bytes
/// `AF 3D C6 0F 83 84 72 47 8E 79 3D 69 D8 47 7D E4`. The value keeps the bytes in text order.
public struct GUID: Hashable, Sendable, CustomStringConvertible, Codable {
    /// The 16 bytes in the order they are written in text.
    public let textOrderBytes: [UInt8]

    /// The all-zero GUID, which VHDX uses for "no log" (MS-VHDX §2.2.2.1, LogGuid).
    public static let zero = GUID(textOrder: [UInt8](repeating: 0, count: 16))

    /// A GUID from its bytes in text order (exactly 16).
    public init(textOrder bytes: [UInt8]) {
        precondition(bytes.count == 16, "a GUID has 16 bytes")
        textOrderBytes = bytes
    }

    /// Decodes the on-disk (mixed-endian) form: the 16 bytes at `offset` of `bytes`.
    public init(mixedEndian bytes: [UInt8], at offset: Int = 0) {
        let b = Array(bytes[offset..<(offset + 16)])
        textOrderBytes = [b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6]] + b[8..<16]
    }

    /// The on-disk (mixed-endian) form.
    public var mixedEndianBytes: [UInt8] {
        let b = textOrderBytes
        return [b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6]] + b[8..<16]
    }

    /// Parses `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX` (either case, optional braces).
    ///
    /// A plain loop over the UTF-8 bytes: the known GUIDs of VHDX and GPT are parsed from text
    /// on every image read, and the generic split/join route costs a short-lived command more
    /// (run-time instantiation of its types) than reading the image.
    public init?(_ text: String) {
        var chars = Array(text.utf8)
        if chars.count == 38, chars.first == UInt8(ascii: "{"), chars.last == UInt8(ascii: "}") {
            chars = Array(chars[1..<37])
        }
        guard chars.count == 36 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(16)
        var i = 0
        while i < 36 {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard chars[i] == UInt8(ascii: "-") else { return nil }
                i += 1
                continue
            }
            guard let hi = Self.nibble(chars[i]), let lo = Self.nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        textOrderBytes = out
    }

    /// A random (version 4, RFC 9562 §5.4) GUID, for identifiers the specs require to be unique.
    public static func random() -> GUID {
        var g = SystemRandomNumberGenerator()
        var b = (0..<16).map { _ in UInt8.random(in: 0...255, using: &g) }
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        return GUID(textOrder: b)
    }

    /// True for the all-zero GUID.
    public var isZero: Bool { textOrderBytes.allSatisfy { $0 == 0 } }

    /// Upper-case text form, as Microsoft documents GUIDs.
    public var description: String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, b) in textOrderBytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let g = GUID(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a GUID: \(text)"))
        }
        self = g
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
