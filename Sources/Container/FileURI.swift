/// What a desktop hands an app it opens a file with: a `file://` URI, since desktop entries
/// take `%U` (which also carries the URLs of an app's protocols). An MSIX app expects a path for
/// a file, as Windows gives it, so `appattachctl launch` turns each local file URI into its path.
public enum FileURI {
    /// `file:///home/a/My%20Report.hello` (or `file://localhost/…`) → `/home/a/My Report.hello`.
    /// Anything else is returned as it is: a URL of another scheme or host, a path, and a file
    /// URI that is malformed (a bad escape, a query or fragment, an encoded NUL or a path that is
    /// not absolute).
    public static func localPath(_ argument: String) -> String {
        let bytes = Array(argument.utf8)
        let scheme = Array("file://".utf8)
        guard bytes.count > scheme.count, bytes.prefix(scheme.count).map({ $0 | 0x20 }) == scheme.map({ $0 | 0x20 }) else { return argument }
        var rest = bytes.dropFirst(scheme.count)
        guard let slash = rest.firstIndex(of: UInt8(ascii: "/")) else { return argument }
        let host = String(decoding: rest[rest.startIndex..<slash], as: UTF8.self).lowercased()
        guard host.isEmpty || host == "localhost" else { return argument }
        rest = rest[slash...]
        guard !rest.contains(UInt8(ascii: "?")), !rest.contains(UInt8(ascii: "#")) else { return argument }
        var path: [UInt8] = []
        var index = rest.startIndex
        while index < rest.endIndex {
            let byte = rest[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < rest.endIndex, let high = hexValue(rest[index + 1]), let low = hexValue(rest[index + 2]) else { return argument }
                let decoded = high << 4 | low
                guard decoded != 0 else { return argument }
                path.append(decoded)
                index += 3
            } else {
                path.append(byte)
                index += 1
            }
        }
        guard let text = String(validating: path, as: UTF8.self) else { return argument }
        return text
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
