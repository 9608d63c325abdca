/// Writes a staging record as JSON without `JSONEncoder`.
///
/// A record is written on every stage, by a short-lived command: the first use of `JSONEncoder`
/// in a process instantiates its generic containers at run time and scans the executable's
/// conformance records for each, which cost more than the rest of staging together. The output
/// is what `JSONEncoder` writes with `.prettyPrinted, .sortedKeys, .withoutEscapingSlashes`,
/// so records stay readable by `JSONDecoder` (`StagingRecords.load`/`all`), and by people.
enum StagingRecordJSON {
    /// The record of `image` as UTF-8 JSON.
    static func encode(_ image: StagedImage) -> [UInt8] {
        var out = JSONText()
        out.open("{")
        out.field("id", string: image.id)
        out.field("imagePath", string: image.imagePath)
        if let loopDevice = image.loopDevice { out.field("loopDevice", string: loopDevice) }
        out.key("mapping")
        out.open("{")
        if let blockSize = image.mapping.blockSize { out.field("blockSize", number: UInt64(blockSize)) }
        out.field("filesystem", string: image.mapping.filesystem.rawValue)
        out.field("isBareFilesystem", bool: image.mapping.isBareFilesystem)
        out.field("length", number: image.mapping.length)
        out.field("offset", number: image.mapping.offset)
        out.close("}")
        out.field("mountPoint", string: image.mountPoint)
        out.key("packages")
        out.open("[")
        for package in image.packages {
            out.element()
            out.open("{")
            out.field("fullName", string: package.fullName)
            out.field("mountPoint", string: package.mountPoint)
            out.field("source", string: package.source)
            out.close("}")
        }
        out.close("]")
        out.key("refused")
        out.open("[")
        for refusal in image.refused {
            out.element()
            out.open("{")
            out.field("fullName", string: refusal.fullName)
            out.field("reason", string: refusal.reason)
            out.close("}")
        }
        out.close("]")
        out.close("}")
        return out.bytes
    }
}

/// Pretty-printed JSON built value by value: two spaces per level, `"key" : value`, members in
/// the order they are added (the caller adds them sorted).
struct JSONText {
    private(set) var bytes: [UInt8] = []
    /// Members written so far in each open object or array, innermost last.
    private var counts: [Int] = []

    /// Opens an object (`{`) or array (`[`) as the current value.
    mutating func open(_ bracket: Unicode.Scalar) {
        bytes.append(UInt8(ascii: bracket))
        counts.append(0)
    }

    /// Closes the innermost object or array.
    mutating func close(_ bracket: Unicode.Scalar) {
        let count = counts.removeLast()
        // JSONEncoder writes an empty array or object as its brackets around an empty line.
        if count == 0 { bytes.append(0x0A) }
        newline(indent: counts.count)
        bytes.append(UInt8(ascii: bracket))
    }

    /// Starts a member of the innermost object: a separator, the key and ` : `.
    mutating func key(_ name: String) {
        element()
        appendString(name)
        bytes.append(contentsOf: [0x20, 0x3A, 0x20])  // " : "
    }

    /// Starts an element of the innermost array (or a member: `key` calls it).
    mutating func element() {
        if counts[counts.count - 1] > 0 { bytes.append(0x2C) }  // ","
        counts[counts.count - 1] += 1
        newline(indent: counts.count)
    }

    mutating func field(_ name: String, string value: String) {
        key(name)
        appendString(value)
    }

    mutating func field(_ name: String, number value: UInt64) {
        key(name)
        bytes.append(contentsOf: Self.decimal(value))
    }

    mutating func field(_ name: String, bool value: Bool) {
        key(name)
        bytes.append(contentsOf: Array((value ? "true" : "false").utf8))
    }

    private mutating func newline(indent: Int) {
        bytes.append(0x0A)
        bytes.append(contentsOf: repeatElement(0x20, count: 2 * indent))
    }

    /// A JSON string: `"` and `\` escaped, control characters as `\n`-style or `\u00XX`
    /// escapes, everything else (`/` and non-ASCII included) as its UTF-8 bytes.
    private mutating func appendString(_ text: String) {
        bytes.append(0x22)
        for byte in text.utf8 {
            switch byte {
            case 0x22: bytes.append(contentsOf: [0x5C, 0x22])
            case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08: bytes.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: bytes.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x00..<0x20:
                bytes.append(contentsOf: Array("\\u00".utf8))
                bytes.append(HexDigits.lowercase[Int(byte >> 4)])
                bytes.append(HexDigits.lowercase[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(0x22)
    }

    static func decimal(_ value: UInt64) -> [UInt8] {
        var digits: [UInt8] = []
        var rest = value
        repeat {
            digits.append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        return digits.reversed()
    }
}

/// Lower-case hexadecimal text of bytes, without the generic `map`/`joined` path (which the
/// runtime instantiates on first use, at a cost a short-lived command notices).
enum HexDigits {
    static let lowercase: [UInt8] = Array("0123456789abcdef".utf8)

    /// `bytes` as lower-case hex, two digits per byte.
    static func string<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in bytes {
            text.append(lowercase[Int(byte >> 4)])
            text.append(lowercase[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
