import Foundation

/// File name extension to MIME type, from the shared-mime-info database (`mime/globs2`), for
/// turning an MSIX `FileType` (keyed by extension) into the MIME type a desktop entry lists.
///
/// An extension the system knows keeps the system's type. For one it does not know, a
/// package's own declared type (`ContentType`, such as `application/vnd.contoso.sketch`) is
/// used when the system does not define that type either; otherwise the extension gets an
/// invented type, `application/x-appattach-<extension>`, which the package's MIME XML then
/// defines. A declared type the system has (Windows packages put `text/plain` on their private
/// extensions) is not used as the type, since listing `text/plain` would offer a package as a
/// handler of every text file; it becomes the invented type's parent instead.
public struct MimeTypeMap: Sendable, Equatable {
    /// Lower-case extension with its dot (`.txt`) to the heaviest matching type.
    public private(set) var typeByExtension: [String: String]
    /// Every type the system defines (from `globs2` and the database's `types` list).
    public private(set) var knownTypes: Set<String> = []

    /// Parses `weight:type:glob[:flags]` lines, keeping plain `*.ext` globs; where several
    /// types claim an extension the highest weight wins, then the first listed. `types` is the
    /// database's list of every type it defines, one per line.
    public init(globs2 text: String, types: String = "") {
        var best: [String: (weight: Int, type: String)] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count >= 3, let weight = Int(fields[0]), fields[2].hasPrefix("*."),
                  !fields[2].dropFirst(2).contains(where: { "*?[".contains($0) }) else { continue }
            let ext = String(fields[2].dropFirst()).lowercased()
            if let current = best[ext], current.weight >= weight { continue }
            best[ext] = (weight, String(fields[1]))
        }
        typeByExtension = best.mapValues(\.type)
        var known = Set<String>()
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            if fields.count >= 2 { known.insert(fields[1].lowercased()) }
        }
        for line in types.split(separator: "\n") where !line.isEmpty && !line.hasPrefix("#") {
            known.insert(line.trimmingCharacters(in: .whitespaces).lowercased())
        }
        knownTypes = known
    }

    /// Whether the system defines `type`.
    public func knows(_ type: String) -> Bool { knownTypes.contains(type.lowercased()) }

    /// Reads `mime/globs2` from the first of `$XDG_DATA_DIRS` (default
    /// `/usr/local/share:/usr/share`) that has one; empty when none does.
    public static func system() -> MimeTypeMap {
        let dirs = ProcessInfo.processInfo.environment["XDG_DATA_DIRS"] ?? "/usr/local/share:/usr/share"
        for dir in dirs.split(separator: ":") {
            if let text = try? String(contentsOfFile: "\(dir)/mime/globs2", encoding: .utf8) {
                return MimeTypeMap(globs2: text, types: (try? String(contentsOfFile: "\(dir)/mime/types", encoding: .utf8)) ?? "")
            }
        }
        return MimeTypeMap(globs2: "")
    }

    /// The MIME type for `fileExtension` (with or without its dot), and whether it was invented.
    public func mimeType(forExtension fileExtension: String) -> (type: String, invented: Bool) {
        let ext = Self.normalised(fileExtension)
        if let known = typeByExtension[ext] { return (known, false) }
        return (Self.inventedType(forExtension: ext), true)
    }

    /// `application/x-appattach-<ext>`, the extension lower-cased and reduced to the
    /// characters a MIME subtype may hold.
    public static func inventedType(forExtension fileExtension: String) -> String {
        let bare = normalised(fileExtension).dropFirst()
        let subtype = String(bare.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && (("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || "+-.".unicodeScalars.contains(scalar))
                ? Character(scalar) : "-"
        })
        return "application/x-appattach-\(subtype.isEmpty ? "unnamed" : subtype)"
    }

    /// Whether `type` is one appattach invents.
    public static func isInvented(_ type: String) -> Bool { type.hasPrefix("application/x-appattach-") }

    /// `.TXT`, `txt` → `.txt`.
    static func normalised(_ fileExtension: String) -> String {
        let lower = fileExtension.trimmingCharacters(in: .whitespaces).lowercased()
        return lower.hasPrefix(".") ? lower : "." + lower
    }
}
