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
        guard let name = options.name, let publisher = options.publisher, let version = options.version else {
            throw MSIXError(.invalidManifest, file: directory, "has no AppxManifest.xml; give --name, --publisher and --version (or --manifest)")
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
        let candidates = files.filter { $0.path.hasSuffix(".desktop") }
        let chosen = candidates.first { !$0.path.contains("/") } ?? candidates.first { $0.path.hasPrefix("share/applications/") }
        guard let chosen, let text = try? String(contentsOfFile: directory + "/" + chosen.path, encoding: .utf8) else { return nil }
        return DesktopEntry(text: text)
    }

    /// The icon's file in the directory: `Icon=` as a relative path, or a file named after it
    /// with an image extension, preferring PNG.
    private func icon(_ icon: String?, in paths: Set<String>) -> String? {
        guard let icon, !icon.isEmpty else { return nil }
        let relative = icon.hasPrefix("/") ? String(icon.dropFirst()) : icon
        if paths.contains(relative) { return relative }
        for ext in ["png", "svg", "xpm"] {
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
