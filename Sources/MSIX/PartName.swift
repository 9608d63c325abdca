/// ZIP entry names of a package: percent-decoding, encoding, and the checks that keep an
/// unpacked package inside its directory.
///
/// MSIX stores names percent-encoded (`Notepad%2B%2B`); the decoded name is what lands on disk,
/// so it is the decoded name that must be relative, free of `.`/`..` and empty components, and
/// unique, also when compared without case, as Windows would.
public enum PartName {
    /// Decodes `%XX` escapes; the result must be UTF-8. Throws a one-line reason.
    public static func percentDecode(_ name: String) throws(MSIXError) -> String {
        guard name.contains("%") else { return name }
        var bytes: [UInt8] = []
        var utf8 = Array(name.utf8)[...]
        while let byte = utf8.popFirst() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard utf8.count >= 2, let high = hexValue(utf8.popFirst()!), let low = hexValue(utf8.popFirst()!) else {
                throw MSIXError(.unsafeName, "ZIP entry '\(name)' has a malformed percent escape")
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw MSIXError(.unsafeName, "ZIP entry '\(name)' does not decode to UTF-8")
        }
        return decoded
    }

    /// Encodes every byte outside `A-Z a-z 0-9 - . _ ~ /` as `%XX`, as makeappx does.
    public static func percentEncode(_ path: String) -> String {
        var result = ""
        for byte in path.utf8 {
            let scalar = Unicode.Scalar(byte)
            if byte < 0x80 && (ASCII.isAlphanumeric(scalar) || "-._~/".unicodeScalars.contains(scalar)) {
                result.unicodeScalars.append(scalar)
            } else {
                result += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return result
    }

    /// Checks that a decoded name is a safe relative path: not absolute, no `.`, `..` or empty
    /// component, no backslash (Windows reads it as a separator), no control characters.
    public static func validate(_ decoded: String, rawName: String) throws(MSIXError) {
        func refuse(_ why: String) -> MSIXError { MSIXError(.unsafeName, "ZIP entry '\(rawName)' \(why)") }
        if decoded.hasPrefix("/") { throw refuse("is an absolute path") }
        if decoded.contains("\\") { throw refuse("contains a backslash") }
        if decoded.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw refuse("contains a control character")
        }
        for component in decoded.split(separator: "/", omittingEmptySubsequences: false) {
            if component.isEmpty { throw refuse("has an empty path component") }
            if component == ".." { throw refuse("contains a '..' component") }
            if component == "." { throw refuse("contains a '.' component") }
        }
    }

    /// Checks that no two decoded names are equal without regard to case, and that no file
    /// name is also used as a directory of another file.
    public static func checkCollisions(_ decodedNames: [String]) throws(MSIXError) {
        var seen: [String: String] = [:]
        for name in decodedNames {
            let key = name.lowercased()
            if let other = seen[key] {
                throw MSIXError(.unsafeName, "ZIP entries '\(other)' and '\(name)' have the same name once decoded (ignoring case)")
            }
            seen[key] = name
        }
        for name in decodedNames {
            var prefix = ""
            for component in name.split(separator: "/").dropLast() {
                prefix += prefix.isEmpty ? String(component) : "/" + component
                if let file = seen[prefix.lowercased()] {
                    throw MSIXError(.unsafeName, "ZIP entry '\(file)' is a file but '\(name)' uses it as a directory")
                }
            }
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
