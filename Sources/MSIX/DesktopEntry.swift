import Foundation

/// The `[Desktop Entry]` group of a freedesktop `.desktop` file: what `PackagePacker` takes
/// from a Linux app's launcher to fill in the manifest.
public struct DesktopEntry: Sendable, Equatable {
    public var name: String?
    public var comment: String?
    public var exec: String?
    public var icon: String?
    public var mimeTypes: [String] = []
    public var categories: [String] = []

    /// Parses the text of a `.desktop` file; keys outside `[Desktop Entry]` and localised keys
    /// (`Name[de]`) are ignored.
    public init(text: String) {
        var inMainGroup = false
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[") {
                inMainGroup = line == "[Desktop Entry]"
                continue
            }
            guard inMainGroup, !line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            switch key {
            case "Name": name = value
            case "Comment": comment = value
            case "Exec": exec = value
            case "Icon": icon = value
            case "MimeType": mimeTypes = Self.list(value)
            case "Categories": categories = Self.list(value)
            default: break
            }
        }
    }

    /// The program named by `Exec`, without arguments or field codes (`%f`, `%U`).
    public var program: String? {
        guard let exec else { return nil }
        return exec.split(separator: " ").first.map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: "\"'")) }
    }

    private static func list(_ value: String) -> [String] {
        value.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
