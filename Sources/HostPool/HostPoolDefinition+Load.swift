import Health

extension HostPoolDefinition {
    /// Reads and validates `<share>/hostpools/<pool>.toml`. Returns a definition in which every
    /// entry is usable, or throws `ConfigurationError` naming the file (relative to the share)
    /// and the line of the first problem. Keeping the last good definition when a new one is
    /// bad is the caller's decision.
    public static func load(share: String, pool: String) throws(ConfigurationError) -> HostPoolDefinition {
        if let problem = HostConfig.poolNameProblem(pool) {
            throw ConfigurationError(file: relativePath(pool: pool), line: nil, message: "pool name \(problem)")
        }
        return try load(path: path(share: share, pool: pool), displayName: relativePath(pool: pool))
    }

    /// Reads and validates the host-pool file at `path`; errors name it `displayName` (default: `path`).
    public static func load(path: String, displayName: String? = nil) throws(ConfigurationError) -> HostPoolDefinition {
        try read(TOMLDocument.load(path: path, displayName: displayName ?? path))
    }

    /// Parses host-pool text; `displayName` is how errors name the file.
    public static func parse(_ text: String, displayName: String) throws(ConfigurationError) -> HostPoolDefinition {
        try read(TOMLDocument.parse(bytes: Array(text.utf8), displayName: displayName))
    }

    static let packageKeys: Set<String> = ["image", "name", "registration", "state", "health", "users", "groups"]

    private static func read(_ document: TOMLDocument) throws(ConfigurationError) -> HostPoolDefinition {
        let root = document.rootReader()
        try root.rejectUnknownKeys(allowed: ["package"])
        // A file with no [[package]] is valid: it removes every package from the pool.
        let tables = try root.tableArray("package") ?? []
        var packages: [PackageEntry] = []
        var seen = Seen()
        for table in tables {
            let entry = try readEntry(table)
            try seen.checkNotDuplicate(entry, table: table)
            packages.append(entry)
        }
        return HostPoolDefinition(packages: packages)
    }

    private static func readEntry(_ table: TableReader) throws(ConfigurationError) -> PackageEntry {
        try table.rejectUnknownKeys(allowed: packageKeys)
        let image = try table.requiredString("image")
        if let problem = imagePathProblem(image) {
            throw table.error("image \(problem)", key: "image")
        }
        let name = try table.requiredString("name")
        guard let reference = PackageReference(name) else {
            throw table.error("name must be a PackageFamilyName (Name_PublisherId) or a PackageFullName (Name_Version_Arch_ResourceId_PublisherId), not \"\(name)\"",
                              key: "name")
        }
        return PackageEntry(
            image: image, package: reference,
            registration: try table.choice("registration", of: RegistrationMode.self) ?? .delayed,
            state: try table.choice("state", of: PackageState.self) ?? .active,
            // NeedsAssistance by default: a failed stage is flagged without taking the host
            // out of service for every other app it serves.
            health: try table.choice("health", of: HealthPolicy.self) ?? .needsAssistance,
            users: try table.stringArray("users") ?? [],
            groups: try table.stringArray("groups") ?? [],
            line: table.line)
    }

    /// The entries read so far, by package and by active family: a pool of thousands of
    /// packages is checked in one pass, not by comparing each entry with all before it.
    private struct Seen {
        var packages: [PackageReference: Int?] = [:]
        var activeFamilies: [String: Int?] = [:]

        /// Two entries for the same package, or two active versions of one family, would leave
        /// hosts to guess which one a user gets; AVD needs distinct families to run two versions.
        mutating func checkNotDuplicate(_ entry: PackageEntry, table: TableReader) throws(ConfigurationError) {
            if let line = packages[entry.package] {
                throw table.error("\(entry.package) is already listed\(at(line))", key: "name")
            }
            packages[entry.package] = entry.line
            guard entry.state == .active else { return }
            if let line = activeFamilies[entry.package.familyName] {
                throw table.error("package family \(entry.package.familyName) is already active\(at(line)); only one version of a family can be active, mark the other \"inactive\"",
                                  key: "name")
            }
            activeFamilies[entry.package.familyName] = entry.line
        }

        private func at(_ line: Int?) -> String { line.map { " at line \($0)" } ?? "" }
    }

    /// Why `path` cannot name an image on the share, or nil. Hosts open `<share>/<path>` as
    /// root, so it must stay inside the share.
    static func imagePathProblem(_ path: String) -> String? {
        if path.hasPrefix("/") { return "must be a path relative to the share, not the absolute path \"\(path)\"" }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        if parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
            return "must be a plain path inside the share (no empty, \".\" or \"..\" parts), not \"\(path)\""
        }
        if path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "must not contain control characters"
        }
        return nil
    }
}
