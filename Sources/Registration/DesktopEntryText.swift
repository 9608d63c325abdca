/// Builds the text of a freedesktop desktop entry (`[Desktop Entry]` group), escaping values
/// as the Desktop Entry Specification requires, so that names from a manifest can never add
/// keys or lines of their own.
struct DesktopEntryText {
    private var lines: [String] = ["[Desktop Entry]"]

    /// Adds `key=value` with string escaping; an empty value leaves the key out.
    mutating func add(_ key: String, _ value: String?) {
        guard let value, !value.isEmpty else { return }
        lines.append("\(key)=\(Self.escape(value))")
    }

    /// Adds `key=a;b;` with `;` in items escaped; an empty list leaves the key out.
    mutating func add(_ key: String, list: [String]) {
        guard !list.isEmpty else { return }
        lines.append("\(key)=" + list.map { Self.escape($0).replacingOccurrences(of: ";", with: "\\;") + ";" }.joined())
    }

    /// Adds a key whose value is already in its final form (`Exec`, built by `LaunchCommand`).
    mutating func addRaw(_ key: String, _ value: String) {
        lines.append("\(key)=\(value)")
    }

    var text: String { lines.joined(separator: "\n") + "\n" }

    /// Backslash, newline, tab and carriage return become `\\ \n \t \r`; a leading space
    /// `\s`; other control characters are dropped (they have no place in a menu).
    static func escape(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case " " where out.isEmpty: out += "\\s"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
