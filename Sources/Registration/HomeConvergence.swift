import LinuxSystem

/// Which of appattach's files one converge pass may write and remove: those of one package
/// family (or of all, for a sweep) in some areas.
struct Claim: Sendable {
    /// `appattach-<PFN>-`, or `appattach-` for every package.
    var namePrefix: String
    /// `# appattach-alias <PFN>!`, or `# appattach-alias ` for every package.
    var markerPrefix: String
    var areas: Set<RegistrationArea>

    static func family(_ familyName: String, _ areas: Set<RegistrationArea>) -> Claim {
        Claim(namePrefix: RegistrationLayout.prefix(familyName),
              markerPrefix: RegistrationLayout.aliasMarkerPrefix + familyName + "!", areas: areas)
    }

    static func everyPackage() -> Claim {
        Claim(namePrefix: RegistrationLayout.prefix, markerPrefix: RegistrationLayout.aliasMarkerPrefix,
              areas: Set(RegistrationArea.allCases))
    }
}

/// Brings a home to the desired files and associations, on the `UserFiles` worker as the
/// user: what differs is written, what is claimed but not desired is removed, and nothing
/// outside the claims is touched. Like snapd's `EnsureDirStateGlobs`, one listing per
/// directory finds the stale files, and files that already match cost one read.
struct HomeConvergence {
    let home: UserHome
    let claims: [Claim]
    var changes = RegistrationChanges()

    init(home: UserHome, claims: [Claim]) {
        self.home = home
        self.claims = claims
    }

    mutating func converge(files: [PlannedFile], associations: [MimeAssociation]) throws {
        try convergeNamed(RegistrationLayout.applications, area: .menu, files)
        try convergeMimeApps(associations)
        try convergeNamed(RegistrationLayout.autostart, area: .startupTasks, files)
        try convergeMarked(RegistrationLayout.executables, files)
    }

    private func prefixes(_ area: RegistrationArea) -> [String] {
        claims.filter { $0.areas.contains(area) }.map(\.namePrefix)
    }

    /// Directories whose files are ours by their `appattach-<PFN>-` names.
    private mutating func convergeNamed(_ dir: String, area: RegistrationArea, _ files: [PlannedFile]) throws {
        let prefixes = prefixes(area)
        guard !prefixes.isEmpty else { return }
        let desired = files.filter { $0.area == area }
        for file in desired where try home.readRegularFile(file.path, limit: 1 << 16) != file.contents {
            try home.writeFile(file.path, file.contents, mode: file.mode)
            changes.written.append(file.path)
        }
        let wanted = Set(desired.map(\.name))
        for name in try home.list(dir) ?? [] where !wanted.contains(name) {
            // A leading dot: the temporary file of a write that was interrupted.
            let bare = name.hasPrefix(".") ? String(name.dropFirst()) : name
            guard prefixes.contains(where: { bare.hasPrefix($0) }) else { continue }
            if try home.remove(dir + "/" + name) { changes.removed.append(dir + "/" + name) }
        }
    }

    /// `~/.local/bin`, where names are the user's namespace: a file is ours only when it
    /// carries our marker, and a file there that is the user's, or another package's, stays
    /// as it is. When two packages want one alias name, the first to have it keeps it.
    private mutating func convergeMarked(_ dir: String, _ files: [PlannedFile]) throws {
        let markers = claims.filter { $0.areas.contains(.executionAliases) }.map(\.markerPrefix)
        guard !markers.isEmpty else { return }
        let desired = files.filter { $0.area == .executionAliases }
        // Name → the marker line of the file there, for every file carrying one of ours.
        var marked: [String: String] = [:]
        for name in try home.list(dir) ?? [] {
            // Our scripts are a few hundred bytes: bigger files need no read to be ruled out.
            guard case .regularFile(let size) = try home.kind(of: dir + "/" + name), size <= 4096,
                  let bytes = try home.readRegularFile(dir + "/" + name, limit: 4096) else { continue }
            let lines = bytes.split(separator: UInt8(ascii: "\n"), maxSplits: 2, omittingEmptySubsequences: false)
            if lines.count > 1 { marked[name] = String(decoding: lines[1], as: UTF8.self) }
        }
        var kept: Set<String> = []
        for file in desired {
            guard case .marker(let marker) = file.ownership, !kept.contains(file.name) else {
                changes.leftAlone.append("\(home.display(file.path)) is wanted by two packages; alias installed once")
                continue
            }
            let family = Self.family(ofMarker: marker)
            if let existing = marked[file.name], existing.hasPrefix(RegistrationLayout.aliasMarkerPrefix) {
                guard Self.family(ofMarker: existing) == family else {
                    changes.leftAlone.append("\(home.display(file.path)) belongs to \(Self.family(ofMarker: existing)); alias not installed")
                    continue
                }
            } else if try home.kind(of: file.path) != .missing {
                changes.leftAlone.append("\(home.display(file.path)) is not appattach's; alias not installed")
                continue
            }
            kept.insert(file.name)
            if try home.readRegularFile(file.path, limit: 4096) != file.contents {
                try home.writeFile(file.path, file.contents, mode: file.mode)
                changes.written.append(file.path)
            }
        }
        for (name, marker) in marked.sorted(by: { $0.key < $1.key })
        where !kept.contains(name) && markers.contains(where: { marker.hasPrefix($0) }) {
            if try home.remove(dir + "/" + name) { changes.removed.append(dir + "/" + name) }
        }
    }

    /// `# appattach-alias PFN!AppId` → `PFN`.
    static func family(ofMarker marker: String) -> String {
        let rest = marker.dropFirst(RegistrationLayout.aliasMarkerPrefix.count)
        return String(rest.prefix { $0 != "!" })
    }

    /// Our items in the user's `mimeapps.list`, merged into whatever else it holds.
    private mutating func convergeMimeApps(_ associations: [MimeAssociation]) throws {
        let managing = claims.filter { !$0.areas.isDisjoint(with: [.fileAssociations, .urlSchemes]) }
        guard !managing.isEmpty else { return }
        let path = RegistrationLayout.mimeApps
        let kind = try home.kind(of: path)
        switch kind {
        case .missing, .regularFile:
            break
        default:
            // Often a link into a dotfiles repository: replacing it would break the user's setup.
            changes.leftAlone.append("\(home.display(path)) is not a regular file; associations not changed")
            return
        }
        // Whole, whatever its length (up to a bound that refuses rather than truncates): the
        // new version is written from it, so anything not read would be lost.
        let file = try home.readWholeFile(path, limit: RegistrationLayout.largestRewrittenFile)
        let before = file.map { String(decoding: $0.bytes, as: UTF8.self) } ?? ""
        let after = MimeAppsList.merge(before, removing: { type, id in
            let area: RegistrationArea = type.hasPrefix("x-scheme-handler/") ? .urlSchemes : .fileAssociations
            return managing.contains { $0.areas.contains(area) && id.hasPrefix($0.namePrefix) }
        }, adding: associations)
        guard after != before else { return }
        if after.isEmpty {
            if try home.remove(path) { changes.removed.append(path) }
        } else {
            // The user's own settings live in this file too: make the new version durable, with
            // the mode the user gave the old one (a new file gets the usual 0644).
            try home.writeFile(path, Array(after.utf8), mode: file?.mode ?? 0o644, durable: true)
            changes.written.append(path)
        }
    }
}
