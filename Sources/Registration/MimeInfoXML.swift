/// The shared-mime-info XML (`mime/packages/appattach-<PFN>.xml`) that defines the MIME types
/// appattach invented for a package's file extensions, so that files of those types are
/// recognised once `update-mime-database` has compiled the tree.
struct MimeInfoXML {
    /// One invented type.
    struct Definition: Equatable {
        var type: String
        var comment: String
        /// The manifest's `ContentType`, when it names a real type.
        var parent: String?
        var globs: [String]
    }

    var definitions: [Definition] = []

    /// The weight of every glob appattach defines: below the default 50 of the host's own
    /// definitions (as Flatpak exports an app's), so that a package cannot take a pattern over.
    static let globWeight = 5

    /// Adds `glob` to `type`, creating the definition on first use.
    mutating func add(type: String, glob: String, comment: String, parent: String?) {
        if let index = definitions.firstIndex(where: { $0.type == type }) {
            if !definitions[index].globs.contains(glob) { definitions[index].globs.append(glob) }
            if definitions[index].parent == nil { definitions[index].parent = parent }
        } else {
            definitions.append(Definition(type: type, comment: comment, parent: parent, globs: [glob]))
        }
    }

    var text: String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<mime-info xmlns=\"http://www.freedesktop.org/standards/shared-mime-info\">\n"
        for definition in definitions.sorted(by: { $0.type < $1.type }) {
            out += "  <mime-type type=\"\(Self.escape(definition.type))\">\n"
            out += "    <comment>\(Self.escape(definition.comment))</comment>\n"
            if let parent = definition.parent { out += "    <sub-class-of type=\"\(Self.escape(parent))\"/>\n" }
            for glob in definition.globs { out += "    <glob pattern=\"\(Self.escape(glob))\" weight=\"\(Self.globWeight)\"/>\n" }
            out += "  </mime-type>\n"
        }
        return out + "</mime-info>\n"
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: if c.value >= 0x20 || c == "\t" { out.unicodeScalars.append(c) }
            }
        }
        return out
    }

    /// `type/subtype` with the characters RFC 6838 allows, or nil.
    static func validType(_ value: String?) -> String? {
        guard let value else { return nil }
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        let allowed = { (s: Substring) in
            !s.isEmpty && s.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "!#$&^_.+-".unicodeScalars.contains($0)) }
        }
        return parts.count == 2 && allowed(parts[0]) && allowed(parts[1]) ? value.lowercased() : nil
    }
}
