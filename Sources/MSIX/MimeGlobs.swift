import Foundation

/// File name extensions of MIME types, from the shared-mime-info database (`mime/globs2`),
/// so that a `.desktop` file's `MimeType=` list can become MSIX `FileType` elements, which
/// are keyed by extension.
public struct MimeGlobs: Sendable {
    /// MIME type to extensions with their dot (`text/plain` → `.txt`, `.asc`).
    public var extensionsByType: [String: [String]]

    /// Reads `globs2` from the first of `$XDG_DATA_DIRS` (default `/usr/local/share:/usr/share`)
    /// that has one; empty when none does.
    public static func system() -> MimeGlobs {
        let dirs = ProcessInfo.processInfo.environment["XDG_DATA_DIRS"] ?? "/usr/local/share:/usr/share"
        for dir in dirs.split(separator: ":") {
            if let text = try? String(contentsOfFile: "\(dir)/mime/globs2", encoding: .utf8) { return MimeGlobs(globs2: text) }
        }
        return MimeGlobs(globs2: "")
    }

    /// Parses `weight:type:glob` lines, keeping plain `*.ext` globs.
    public init(globs2 text: String) {
        var result: [String: [String]] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count >= 3, fields[2].hasPrefix("*."), !fields[2].dropFirst(2).contains(where: { "*?[".contains($0) }) else { continue }
            let ext = String(fields[2].dropFirst())
            result[String(fields[1]), default: []].append(ext)
        }
        extensionsByType = result
    }
}
