import Foundation

/// Where a packed package's manifest comes from: a given file, an AppxManifest.xml already in
/// the directory, or one written from the options and the directory's `.desktop` file.
struct ManifestSource {
    let directory: String
    let files: [DirectoryScan.File]
    let options: PackOptions

    func bytes() throws(MSIXError) -> [UInt8] {
        let identityOptions = [options.name, options.publisher, options.version, options.executable, options.displayName]
        if let path = options.manifestPath {
            guard identityOptions.allSatisfy({ $0 == nil }) else {
                throw MSIXError(.invalidManifest, "give either a manifest file or --name/--publisher/--version/--executable/--display-name, not both")
            }
            return try read(path)
        }
        let existing = directory + "/" + MSIXPackage.manifestName
        if identityOptions.allSatisfy({ $0 == nil }) && FileManager.default.fileExists(atPath: existing) {
            return try read(existing)
        }
        return Array(try generated().xml().utf8)
    }

    private func read(_ path: String) throws(MSIXError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MSIXError(.fileSystem, file: path, "cannot read the manifest")
        }
        return Array(data)
    }

    private func generated() throws(MSIXError) -> ManifestWriter {
        let desktop = desktopEntry()
        guard let name = options.name ?? desktopFileName().flatMap(Self.identityName(fromDesktopFile:)),
              let publisher = options.publisher, let version = options.version else {
            throw MSIXError(.invalidManifest, file: directory, "has no AppxManifest.xml; give --name (or a .desktop file), --publisher and --version (or --manifest)")
        }
        let identity = PackageIdentity(name: name, publisher: publisher, version: version,
                                       processorArchitecture: options.processorArchitecture)
        try identity.validate()
        let paths = Set(files.map(\.path))
        guard let executable = options.executable ?? desktop?.program.flatMap({ paths.contains($0) ? $0 : nil }) else {
            throw MSIXError(.invalidManifest, file: directory, "give --executable, the program to run as a path inside the directory")
        }
        guard paths.contains(executable) else {
            throw MSIXError(.invalidManifest, file: directory, "has no file '\(executable)' to use as the executable")
        }
        let globs = options.mimeGlobs ?? MimeGlobs.system()
        let fileTypes = (desktop?.mimeTypes ?? []).flatMap { type in
            (globs.extensionsByType[type] ?? []).map { ApplicationExtensions.FileType(fileExtension: $0, contentType: type) }
        }
        return ManifestWriter(identity: identity,
                              displayName: options.displayName ?? desktop?.name ?? name,
                              publisherDisplayName: options.publisherDisplayName ?? Self.commonName(publisher) ?? publisher,
                              description: desktop?.comment, logo: icon(desktop?.icon, in: paths),
                              executable: executable, fileTypes: fileTypes, categories: desktop?.categories ?? [])
    }

    /// The first `.desktop` file at the top of the directory, else under `share/applications`.
    private func desktopEntry() -> DesktopEntry? {
        guard let chosen = desktopFileName(),
              let text = try? String(contentsOfFile: directory + "/" + chosen, encoding: .utf8) else { return nil }
        return DesktopEntry(text: text)
    }

    private func desktopFileName() -> String? {
        let candidates = files.filter { $0.path.hasSuffix(".desktop") }
        let chosen = candidates.first { !$0.path.contains("/") } ?? candidates.first { $0.path.hasPrefix("share/applications/") }
        return chosen?.path
    }

    /// An identity Name from a desktop file id (`org.example.App.desktop` → `org.example.App`):
    /// only the characters MSIX allows in a Name, 3 to 50 of them.
    static func identityName(fromDesktopFile path: String) -> String? {
        let base = String(path.split(separator: "/").last ?? "").replacingOccurrences(of: ".desktop", with: "")
        let allowed = base.unicodeScalars.map { scalar -> Character in
            let c = Character(scalar)
            return c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == ".") ? c : "-"
        }
        let name = String(String(allowed).prefix(50))
        return name.count >= 3 ? name : nil
    }

    /// The icon's file in the directory: `Icon=` as a relative path, or a file named after it
    /// with an image extension, preferring PNG.
    private func icon(_ icon: String?, in paths: Set<String>) -> String? {
        guard let icon, !icon.isEmpty else { return nil }
        let relative = icon.hasPrefix("/") ? String(icon.dropFirst()) : icon
        let imageExtensions = ["png", "svg", "xpm"]
        // `Icon=` names a file only when it has an image extension; a bare name such as
        // `hello` may well be the program itself.
        if paths.contains(relative), imageExtensions.contains(where: { relative.lowercased().hasSuffix("." + $0) }) {
            return relative
        }
        for ext in imageExtensions {
            if let match = files.map(\.path).first(where: { $0 == "\(relative).\(ext)" || $0.hasSuffix("/\(relative).\(ext)") }) {
                return match
            }
        }
        return nil
    }

    private static func commonName(_ publisher: String) -> String? {
        publisher.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .first { $0.hasPrefix("CN=") }.map { String($0.dropFirst(3)) }
    }
}
