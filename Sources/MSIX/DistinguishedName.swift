/// The form the MSIX schema gives a publisher (ST_Publisher): an X.500 distinguished name such
/// as `CN=Contoso Software, O=Contoso Corporation, C=US`, attributes separated by `, `, each a
/// known key or `OID.<dotted numbers>`, `=`, and a value that is either quoted or free of
/// `, + = " < > # ;`.
enum DistinguishedName {
    /// The attribute keys the schema names.
    static let keys: Set<String> = [
        "CN", "L", "O", "OU", "E", "C", "S", "STREET", "T", "G", "I", "SN", "DC", "SERIALNUMBER",
        "Description", "PostalCode", "POBox", "Phone", "X21Address", "dnQualifier",
    ]

    /// Why `name` is not a distinguished name as the schema defines it, or nil when it is one.
    static func problem(_ name: String) -> String? {
        let rule = "is not an X.500 distinguished name like \"CN=Contoso, O=Contoso Corporation, C=US\""
        guard (1...8192).contains(name.unicodeScalars.count) else { return "must be 1 to 8,192 characters" }
        if name.unicodeScalars.contains(where: ManifestText.isControl) { return "holds a control character" }
        let scalars = Array(name.unicodeScalars)
        var i = 0
        while true {
            // The key, up to `=`.
            let keyStart = i
            while i < scalars.count, scalars[i] != "=" { i += 1 }
            guard i < scalars.count, isKey(String(String.UnicodeScalarView(scalars[keyStart..<i]))) else { return rule }
            i += 1
            // The value: quoted, or a run of allowed characters.
            if i < scalars.count, scalars[i] == "\"" {
                i += 1
                while i < scalars.count, scalars[i] != "\"" { i += 1 }
                guard i < scalars.count else { return rule }
                i += 1
            } else {
                let valueStart = i
                while i < scalars.count, !(scalars[i] == "," || "+=\"<>#;".unicodeScalars.contains(scalars[i])) { i += 1 }
                guard i > valueStart else { return rule }
            }
            if i == scalars.count { return nil }
            // The next attribute, after `, `.
            guard i + 1 < scalars.count, scalars[i] == ",", scalars[i + 1] == " " else { return rule }
            i += 2
        }
    }

    /// A key the schema names, or `OID.` and two or more dot-separated numbers without leading zeros.
    private static func isKey(_ key: String) -> Bool {
        if keys.contains(key) { return true }
        guard key.hasPrefix("OID.") else { return false }
        let numbers = key.dropFirst(4).split(separator: ".", omittingEmptySubsequences: false)
        return numbers.count >= 2 && numbers.allSatisfy { number in
            !number.isEmpty && number.allSatisfy { $0.isASCII && $0.isNumber } && (number == "0" || !number.hasPrefix("0"))
        }
    }
}
