import SwiftASN1
import X509

/// A certificate's subject written the way Windows writes it for a package's Publisher
/// (`CertNameToStr` with `CERT_X500_NAME_STR | CERT_NAME_STR_REVERSE_FLAG`): the relative
/// names in reverse order joined with `, `, the values of one joined with ` + `, the X.500
/// keys the manifest schema names (`S`, not `ST`) and `OID.x.y` for the rest, and a value
/// in double quotes (quotes doubled) when it is empty, starts or ends with a space, or holds
/// one of `, + = " < > # ;` or a line break. The manifest's Publisher must be exactly this
/// string, case and spaces included, as Windows requires.
///
/// (swift-certificates' own `description` is RFC 4514's form, and cannot show BMPString
/// values, which real code-signing roots use.)
public enum PublisherName {
    /// The keys for the attribute types the schema names.
    static let keys: [ASN1ObjectIdentifier: String] = [
        [2, 5, 4, 3]: "CN", [2, 5, 4, 7]: "L", [2, 5, 4, 10]: "O", [2, 5, 4, 11]: "OU",
        [1, 2, 840, 113549, 1, 9, 1]: "E", [2, 5, 4, 6]: "C", [2, 5, 4, 8]: "S", [2, 5, 4, 9]: "STREET",
        [2, 5, 4, 12]: "T", [2, 5, 4, 42]: "G", [2, 5, 4, 43]: "I", [2, 5, 4, 4]: "SN",
        [0, 9, 2342, 19200300, 100, 1, 25]: "DC", [2, 5, 4, 5]: "SERIALNUMBER", [2, 5, 4, 13]: "Description",
        [2, 5, 4, 17]: "PostalCode", [2, 5, 4, 18]: "POBox", [2, 5, 4, 20]: "Phone", [2, 5, 4, 24]: "X21Address",
        [2, 5, 4, 46]: "dnQualifier",
    ]

    /// `name` as a Publisher string.
    public static func string(_ name: DistinguishedName) throws -> String {
        var serializer = DER.Serializer()
        try serializer.serialize(name)
        let root = try DER.parse(serializer.serializedBytes)
        var names: [String] = []
        for relative in root.children {
            var values: [String] = []
            for attribute in relative.children {
                let parts = attribute.children
                guard parts.count == 2, let type = parts[0].objectIdentifier else { throw ASN1Error.invalidASN1Object(reason: "attribute") }
                values.append((keys[type] ?? "OID.\(type)") + "=" + quoted(text(parts[1])))
            }
            names.append(values.joined(separator: " + "))
        }
        return names.reversed().joined(separator: ", ")
    }

    /// The text of a directory string: UTF8String, PrintableString, IA5String, VisibleString,
    /// TeletexString (read as Latin-1), BMPString (UTF-16BE) or UniversalString (UTF-32BE).
    static func text(_ node: ASN1Node) -> String {
        let bytes = node.primitiveBytes.map(Array.init) ?? []
        guard node.identifier.tagClass == .universal else { return String(decoding: bytes, as: UTF8.self) }
        switch node.identifier.tagNumber {
        case 30:
            var units: [UInt16] = []
            var index = 0
            while index + 1 < bytes.count {
                units.append(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]))
                index += 2
            }
            return String(decoding: units, as: UTF16.self)
        case 28:
            var text = String.UnicodeScalarView()
            var index = 0
            while index + 3 < bytes.count {
                var value: UInt32 = 0
                for byte in bytes[index..<(index + 4)] { value = value << 8 | UInt32(byte) }
                if let scalar = Unicode.Scalar(value) { text.append(scalar) }
                index += 4
            }
            return String(text)
        case 20:
            return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        default:
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// The value, in quotes when Windows quotes it.
    static func quoted(_ value: String) -> String {
        let special = ",+=\"\n\r<>#;"
        guard value.isEmpty || value.hasPrefix(" ") || value.hasSuffix(" ") || value.contains(where: { special.contains($0) }) else {
            return value
        }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
