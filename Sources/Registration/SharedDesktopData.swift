import Foundation
import LinuxSystem

/// The system data directory desktops read the staged packages' icons and file types from,
/// `<runtime>/share` (`/run/appattach/share`): listed last in every session's `XDG_DATA_DIRS`
/// by `/usr/lib/environment.d/60-appattach.conf` and `/etc/profile.d/appattach.sh`, as snapd
/// lists its desktop directory. It holds, for every package family staged:
///
/// - `icons/hicolor/<size>/apps/appattach-<PFN>-<AppId>.png|svg`: desktop entries name the
///   icon (`Icon=appattach-<PFN>-<AppId>`) and the icon theme finds it;
/// - `mime/packages/appattach-<PFN>.xml`: the file types the package defines, compiled by
///   `update-mime-database` into `mime/mime.cache`, which GIO and Qt read (GIO only reads
///   compiled directories).
///
/// `publish` makes the tree hold exactly the files of the packages it is given, copied from
/// each package's integration directory (`PackageIntegration.prepare`), and compiles the MIME
/// database only when a definition was added, changed or removed. It is the agent's, run off
/// the sign-in path whenever the staged packages change: a sign-in never waits for it, and no
/// user's home is touched. Files without the `appattach-` prefix are not ours and are left
/// alone; no icon cache is made (GTK would trust a stale one).
public struct SharedDesktopData: Sendable {
    /// The tree's root.
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// What a `publish` changed, relative to `directory`.
    public struct Outcome: Sendable, Equatable {
        /// Files written (new or changed).
        public var written: [String] = []
        /// Files removed: their package is no longer staged.
        public var removed: [String] = []
        /// Whether `update-mime-database` compiled `mime/`.
        public var compiledMimeDatabase = false
        /// What could not be done, each with the file and the reason; the rest went on.
        public var problems: [String] = []

        public init() {}

        /// Whether anything changed.
        public var changed: Bool { !written.isEmpty || !removed.isEmpty || compiledMimeDatabase }
    }

    /// The MIME directory, relative to `directory`.
    static let mime = "mime"
    static let mimePackages = "mime/packages"
    static let hicolor = "icons/hicolor"

    /// Makes the tree hold the icons and MIME definitions of `integrations` (one per package
    /// family: the version its users get) and nothing else of ours, then compiles the MIME
    /// database if its definitions changed (or were never compiled).
    public func publish(_ integrations: [PreparedIntegration]) -> Outcome {
        var outcome = Outcome()
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: directory + "/" + Self.mimePackages, withIntermediateDirectories: true,
                                   attributes: [.posixPermissions: 0o755])
            try fm.createDirectory(atPath: directory + "/" + Self.hicolor, withIntermediateDirectories: true,
                                   attributes: [.posixPermissions: 0o755])
        } catch {
            outcome.problems.append("cannot make \(directory): \(error)")
            return outcome
        }
        var wanted: [String: String] = [:]
        for integration in integrations {
            for relative in Self.ourFiles(in: integration.directory) { wanted[relative] = integration.directory + "/" + relative }
        }
        let present = Set(Self.ourFiles(in: directory))
        var mimeChanged = false
        for (relative, source) in wanted.sorted(by: { $0.key < $1.key }) {
            let target = directory + "/" + relative
            guard let bytes = fm.contents(atPath: source) else {
                outcome.problems.append("cannot read \(source)")
                continue
            }
            if present.contains(relative), fm.contents(atPath: target) == bytes { continue }
            do {
                try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                                       attributes: [.posixPermissions: 0o755])
                try AtomicOutput.write(Array(bytes), to: target, mode: 0o644, durable: false)
                outcome.written.append(relative)
                if relative.hasPrefix(Self.mimePackages + "/") { mimeChanged = true }
            } catch {
                outcome.problems.append("cannot write \(target): \(error)")
            }
        }
        for relative in present.subtracting(wanted.keys).sorted() {
            do {
                try fm.removeItem(atPath: directory + "/" + relative)
                outcome.removed.append(relative)
                if relative.hasPrefix(Self.mimePackages + "/") { mimeChanged = true }
            } catch {
                outcome.problems.append("cannot remove \(directory)/\(relative): \(error)")
            }
        }
        if mimeChanged || !fm.fileExists(atPath: directory + "/" + Self.mime + "/mime.cache") {
            compileMimeDatabase(&outcome)
        }
        return outcome
    }

    /// Runs `update-mime-database` on `mime/` (without an fsync per file: the tree is made
    /// again from the staged packages after a crash).
    private func compileMimeDatabase(_ outcome: inout Outcome) {
        guard ExternalCommand.locate("update-mime-database") != nil else {
            outcome.problems.append("update-mime-database is not installed (Debian: shared-mime-info): the file types in \(directory)/\(Self.mimePackages) are not compiled, and GIO does not see them")
            return
        }
        do {
            _ = try ExternalCommand("env", ["PKGSYSTEM_ENABLE_FSYNC=0", "update-mime-database", directory + "/" + Self.mime]).run()
            outcome.compiledMimeDatabase = true
        } catch {
            outcome.problems.append("cannot compile \(directory)/\(Self.mime): \(error)")
        }
    }

    /// Our files below `root`, relative to it: `mime/packages/appattach-*.xml` and
    /// `icons/hicolor/*/apps/appattach-*`. Links and other kinds are not files of ours.
    static func ourFiles(in root: String) -> [String] {
        let fm = FileManager.default
        var files: [String] = []
        func regularFiles(_ relativeDirectory: String, suffix: String = "") -> [String] {
            let names = (try? fm.contentsOfDirectory(atPath: root + "/" + relativeDirectory)) ?? []
            return names.filter { $0.hasPrefix(RegistrationLayout.prefix) && $0.hasSuffix(suffix) }.sorted().compactMap { name in
                let relative = relativeDirectory + "/" + name
                var st = stat()
                guard lstat(root + "/" + relative, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
                return relative
            }
        }
        files += regularFiles(mimePackages, suffix: ".xml")
        for size in ((try? fm.contentsOfDirectory(atPath: root + "/" + hicolor)) ?? []).sorted() where !size.hasPrefix(".") {
            files += regularFiles(hicolor + "/" + size + "/apps")
        }
        return files
    }
}
