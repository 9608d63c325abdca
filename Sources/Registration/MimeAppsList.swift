/// One association appattach wants in `~/.config/mimeapps.list`.
public struct MimeAssociation: Sendable, Equatable, Hashable, Codable {
    /// A MIME type or `x-scheme-handler/<scheme>`.
    public var mimeType: String
    /// The desktop file ID, `appattach-<PFN>-<AppId>.desktop`.
    public var desktopID: String
    /// Whether to make it the default too, which happens only where the user's file names no
    /// default of its own: a user's choice is never overridden.
    public var isDefault: Bool

    public init(mimeType: String, desktopID: String, isDefault: Bool) {
        self.mimeType = mimeType
        self.desktopID = desktopID
        self.isDefault = isDefault
    }
}

/// Merges appattach's associations into the text of a user's `mimeapps.list` (the XDG MIME
/// applications spec), leaving everything else as the user wrote it.
///
/// Ownership is per desktop ID, not per line: in `[Default Applications]` and `[Added
/// Associations]` appattach owns only the `appattach-…desktop` items of a `type=a;b;` list.
/// Lines without such items keep their exact bytes, comments and order; a list that loses
/// items is rewritten in the canonical `type=a;b;` form, and dropped when nothing is left; a
/// section that appattach emptied goes with its header. Merging again gives the same text.
public enum MimeAppsList {
    public static let defaultSection = "Default Applications"
    public static let addedSection = "Added Associations"

    /// Removes every item for which `owned(mimeType, desktopID)` is true from the two managed
    /// sections, then adds `associations`: each to `[Added Associations]` (so the app is
    /// offered under "Open with"), and the default ones to `[Default Applications]` where that
    /// type has no default but appattach's.
    public static func merge(_ text: String, removing owned: (String, String) -> Bool,
                             adding associations: [MimeAssociation]) -> String {
        var document = Document(text)
        document.removeItems(owned)
        for association in associations {
            document.add(association.desktopID, for: association.mimeType, in: addedSection, onlyIfUnclaimed: false)
            if association.isDefault {
                document.add(association.desktopID, for: association.mimeType, in: defaultSection, onlyIfUnclaimed: true)
            }
        }
        return document.text
    }

    /// Whether `desktopID` is one of appattach's.
    public static func isOurs(_ desktopID: String) -> Bool { desktopID.hasPrefix(RegistrationLayout.prefix) }

    /// The file as sections of lines.
    struct Document {
        struct Line {
            var raw: String
            var key: String?
            var original: [String] = []
            var items: [String] = []
            var isBlank: Bool { key == nil && raw.trimmingCharacters(in: .whitespaces).isEmpty }
            var text: String {
                guard let key, items != original else { return raw }
                return key + "=" + items.map { $0 + ";" }.joined()
            }
        }
        struct Section {
            var header: String?
            var name: String?
            var lines: [Line] = []
            var emptiedByUs = false
            var isNew = false
        }

        var sections: [Section] = [Section()]

        init(_ text: String) {
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if lines.last == "" { lines.removeLast() }
            for raw in lines {
                let trimmed = raw.trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix("[") && trimmed.hasSuffix("]") {
                    sections.append(Section(header: raw, name: String(trimmed.dropFirst().dropLast())))
                    continue
                }
                var line = Line(raw: raw)
                if managed(sections[sections.count - 1].name), !trimmed.hasPrefix("#"), let equals = trimmed.firstIndex(of: "=") {
                    line.key = trimmed[..<equals].trimmingCharacters(in: .whitespaces)
                    line.original = trimmed[trimmed.index(after: equals)...].split(separator: ";")
                        .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                    line.items = line.original
                }
                sections[sections.count - 1].lines.append(line)
            }
        }

        func managed(_ name: String?) -> Bool { name == MimeAppsList.defaultSection || name == MimeAppsList.addedSection }

        mutating func removeItems(_ owned: (String, String) -> Bool) {
            for s in sections.indices where managed(sections[s].name) {
                for l in sections[s].lines.indices {
                    guard let key = sections[s].lines[l].key else { continue }
                    sections[s].lines[l].items.removeAll { MimeAppsList.isOurs($0) && owned(key, $0) }
                }
            }
        }

        /// Adds `id` to the first `type=` line of section `name`, making line and section as
        /// needed. `onlyIfUnclaimed`: leave a list that names anything but appattach's IDs.
        mutating func add(_ id: String, for type: String, in name: String, onlyIfUnclaimed: Bool) {
            let s = sections.firstIndex { $0.name == name } ?? {
                sections.append(Section(header: "[\(name)]", name: name, isNew: true))
                return sections.count - 1
            }()
            if let l = sections[s].lines.firstIndex(where: { $0.key == type }) {
                let items = sections[s].lines[l].items
                if items.contains(id) { return }
                if onlyIfUnclaimed && items.contains(where: { !MimeAppsList.isOurs($0) }) { return }
                sections[s].lines[l].items.append(id)
            } else {
                let insertAt = (sections[s].lines.lastIndex { !$0.isBlank }).map { $0 + 1 } ?? 0
                sections[s].lines.insert(Line(raw: "", key: type, original: [], items: [id]), at: insertAt)
            }
        }

        var text: String {
            var out: [String] = []
            for section in sections {
                // Lines that lost all their items were appattach's alone; they go.
                let kept = section.lines.filter { !($0.key != nil && $0.items.isEmpty && !$0.original.isEmpty) }
                let emptied = managed(section.name) && kept.allSatisfy(\.isBlank) && kept.count < section.lines.count
                if emptied {
                    // Take the blank line that separated the section too, so that adding and
                    // removing a section leaves the file as it was.
                    if out.last?.trimmingCharacters(in: .whitespaces).isEmpty == true { out.removeLast() }
                    continue
                }
                if section.isNew && kept.allSatisfy(\.isBlank) { continue }
                if let header = section.header {
                    if section.isNew, let last = out.last, !last.trimmingCharacters(in: .whitespaces).isEmpty { out.append("") }
                    out.append(header)
                }
                out += kept.map(\.text)
            }
            return out.isEmpty ? "" : out.joined(separator: "\n") + "\n"
        }
    }
}
