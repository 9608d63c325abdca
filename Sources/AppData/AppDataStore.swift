import Glibc
import LinuxSystem

/// The life cycle of users' app data: makes a package's layer (restoring it from the profile
/// copy), and at sign-out pushes it into the profile atomically and removes it.
///
/// Root makes only `users/` (root's, 0711) and `users/<uid>/` (the user's, 0700). Everything
/// below `users/<uid>/` and everything in the home is the user's, so that work runs as the
/// user on the `UserFiles` worker: the kernel's permission checks are the user's own, and no
/// link the user placed can make the agent reach anything the user could not.
public struct AppDataStore: Sendable {
    /// The directory of all users' layers (`/var/lib/appattach/users`).
    public let usersDirectory: String
    /// Where the user's file work runs.
    public let files: UserFiles

    public init(usersDirectory: String = AppDataLayout.defaultUsersDirectory, files: UserFiles) {
        self.usersDirectory = usersDirectory
        self.files = files
    }

    /// What `prepareLayer` found or did.
    public enum Preparation: Sendable, Equatable {
        /// The layer was there already: it holds this sign-in's data and is left as it is.
        case existing
        /// A new layer was made; `restored` is what came from the profile copy (nil: there was none).
        case made(restored: TreeCopy.Report?)
    }

    /// What a push did.
    public struct Push: Sendable, Equatable {
        /// What was copied into the profile.
        public var copied: TreeCopy.Report
        /// Whether a previous profile copy was replaced (false: the first push).
        public var replacedPrevious: Bool
        /// Time spent copying, making the copy durable (syncfs, exchange, fsync), and removing
        /// the previous copy and the layer.
        public var copying: Duration, syncing: Duration, removing: Duration
    }

    /// The name, beside its final one, under which a new layer or profile copy is made. A
    /// leftover under this name is always garbage: the final name holds a complete copy.
    static func temporaryName(_ packageFamilyName: String) -> String { ".\(packageFamilyName).new" }

    /// Makes sure `user`'s layer for `packageFamilyName` exists with every area's `upper` and
    /// `work`. A missing layer is made under a temporary name, filled from the profile copy
    /// (`config`, `data`, `state`), made durable (`syncfs`), and renamed into place, so a
    /// present layer is always complete and a crash leaves only a leftover that the next call
    /// removes.
    public func prepareLayer(for user: UserAccount, packageFamilyName: String) throws(AppDataError) -> Preparation {
        let layout = try AppDataLayout(uid: user.uid, packageFamilyName: packageFamilyName, usersDirectory: usersDirectory)
        try prepareUserDirectory(layout, user)
        do {
            return try files.perform(as: user) { home in try Self.prepareLayer(layout, home) }
        } catch {
            throw AppDataError("cannot prepare the app data of \(packageFamilyName) for \(user.name): \(error)")
        }
    }

    /// `prepareLayer` for several packages of one user in one visit of the worker (a regular
    /// registration prepares all of the user's packages at sign-in). Each package succeeds or
    /// fails on its own; the results come in the order of `packageFamilyNames`, each with the
    /// time its own layer took.
    public func prepareLayers(for user: UserAccount, packageFamilyNames: [String]) async
        -> [(packageFamilyName: String, result: Result<Preparation, AppDataError>, duration: Duration)] {
        guard !packageFamilyNames.isEmpty else { return [] }
        var layouts: [(String, Result<AppDataLayout, AppDataError>)] = []
        for family in packageFamilyNames {
            do throws(AppDataError) {
                let layout = try AppDataLayout(uid: user.uid, packageFamilyName: family, usersDirectory: usersDirectory)
                layouts.append((family, .success(layout)))
            } catch {
                layouts.append((family, .failure(error)))
            }
        }
        if let layout = layouts.lazy.compactMap({ try? $0.1.get() }).first {
            do throws(AppDataError) { try prepareUserDirectory(layout, user) } catch {
                return packageFamilyNames.map { ($0, .failure(error), .zero) }
            }
        }
        let planned = layouts
        do {
            return try await files.perform(as: user) { home in
                planned.map { family, layout in
                    let started = ContinuousClock.now
                    switch layout {
                    case .failure(let error):
                        return (family, .failure(error), .zero)
                    case .success(let layout):
                        do {
                            let preparation = try Self.prepareLayer(layout, home)
                            return (family, .success(preparation), ContinuousClock.now - started)
                        } catch {
                            return (family, .failure(AppDataError("cannot prepare the app data of \(family) for \(user.name): \(error)")),
                                    ContinuousClock.now - started)
                        }
                    }
                }
            }
        } catch {
            let failure = AppDataError("cannot prepare the app data for \(user.name): \(error)")
            return packageFamilyNames.map { ($0, .failure(failure), .zero) }
        }
    }

    /// Pushes `user`'s layer for `packageFamilyName` into the profile copy
    /// `~/.local/share/appattach/<PackageFamilyName>/`, then removes the layer. Nil when there
    /// is no layer (a delayed registration never launched): the profile copy stays as it was.
    ///
    /// Atomic: the new copy is written beside the old one under a temporary name, made durable
    /// with one `syncfs` of the home's file system (every file, directory and entry of the new
    /// copy reaches stable storage, as an `fsync` of each would do), then swapped in with
    /// `renameat2(RENAME_EXCHANGE)` (or `RENAME_NOREPLACE` the first time) and the directory
    /// `fsync`ed. A crash before the swap leaves the previous copy, after it the new one; the
    /// leftover beside it is removed by the next push or restore.
    public func push(for user: UserAccount, packageFamilyName: String) throws(AppDataError) -> Push? {
        let layout = try AppDataLayout(uid: user.uid, packageFamilyName: packageFamilyName, usersDirectory: usersDirectory)
        do {
            return try files.perform(as: user) { home in try Self.push(layout, home) }
        } catch {
            throw AppDataError("cannot push the app data of \(packageFamilyName) for \(user.name) into the profile: \(error)")
        }
    }

    // MARK: - As root

    /// `users/` (root, 0711: users reach their own directory but cannot list the others) and
    /// `users/<uid>/` (the user's, 0700). Only root can write in `users/`, so nothing in this
    /// path is the user's but the last directory, which is opened without following links and
    /// changed through its descriptor.
    private func prepareUserDirectory(_ layout: AppDataLayout, _ user: UserAccount) throws(AppDataError) {
        do {
            if mkdir(usersDirectory, 0o711) == 0 { chmod(usersDirectory, 0o711) } else if errno != EEXIST {
                throw SystemCallError("mkdir", usersDirectory)
            }
            let users = try OpenDirectory.open(usersDirectory, owner: 0)
            let mine = try users.makeDirectory(String(user.uid), mode: 0o700)
            let st = try mine.status()
            if st.st_uid != user.uid || st.st_gid != user.gid {
                try retryingOnInterrupt("chown", mine.path) { fchown(mine.descriptor, user.uid, user.gid) }
            }
            if st.st_mode & 0o7777 != 0o700 { try retryingOnInterrupt("chmod", mine.path) { fchmod(mine.descriptor, 0o700) } }
        } catch {
            throw AppDataError("cannot prepare \(layout.userDirectory) for \(user.name): \(error)")
        }
    }

    // MARK: - As the user (on the UserFiles worker)

    static func prepareLayer(_ layout: AppDataLayout, _ home: UserHome) throws -> Preparation {
        let family = layout.packageFamilyName
        let mine = try OpenDirectory.open(layout.userDirectory, owner: home.user.uid)
        let temporary = temporaryName(family)
        try mine.removeTree(temporary)
        if let layer = try mine.openDirectory(family) {
            for area in AppDataArea.allCases {
                let dir = try layer.makeDirectory(area.rawValue)
                _ = try dir.makeDirectory("upper")
                _ = try dir.makeDirectory("work")
            }
            return .existing
        }
        // A push cut short leaves its temporary copy beside the profile copy.
        try home.openDirectory(AppDataLayout.profileParent, create: false)?.removeTree(temporary)
        let profile = try home.openDirectory(layout.profileRelativePath, create: false)
        let layer = try mine.makeDirectory(temporary)
        var restored = TreeCopy.Report()
        for area in AppDataArea.allCases {
            let dir = try layer.makeDirectory(area.rawValue)
            if area.isPushed, let profile, try directory(area.rawValue, in: profile, &restored) != nil {
                restored.add(try TreeCopy.profileToLayer.copyDirectory(area.rawValue, from: profile, to: dir, as: "upper"))
            } else {
                _ = try dir.makeDirectory("upper")
            }
            _ = try dir.makeDirectory("work")
        }
        // What came from the profile is made durable before the layer takes its final name: a
        // power cut could otherwise leave files without their data in a layer that looks
        // complete, and the next push would put them over the good profile copy.
        if profile != nil { try layer.syncFileSystem() }
        try mine.rename(temporary, to: family, .noReplace)
        return .made(restored: profile == nil ? nil : restored)
    }

    static func push(_ layout: AppDataLayout, _ home: UserHome) throws -> Push? {
        let family = layout.packageFamilyName
        let mine = try OpenDirectory.open(layout.userDirectory, owner: home.user.uid)
        guard let layer = try mine.openDirectory(family) else { return nil }
        guard let parent = try home.openDirectory(AppDataLayout.profileParent, create: true) else {
            throw SystemCallError("mkdir", "~/" + AppDataLayout.profileParent, errno: ENOENT)
        }
        let clock = ContinuousClock()
        let started = clock.now
        let temporary = temporaryName(family)
        try parent.removeTree(temporary)
        let copy = try parent.makeDirectory(temporary)
        var report = TreeCopy.Report()
        for area in AppDataArea.pushed {
            // Anything but a directory where an area or its upper belongs (a link the user put
            // there) is not followed: that area is pushed empty and the entry is reported.
            if let dir = try directory(area.rawValue, in: layer, &report), let _ = try directory("upper", in: dir, &report) {
                report.add(try TreeCopy.layerToProfile.copyDirectory("upper", from: dir, to: copy, as: area.rawValue))
            } else {
                _ = try copy.makeDirectory(area.rawValue)
            }
        }
        let copied = clock.now
        try copy.syncFileSystem()
        FaultInjection.pausePoint("appdata-push-synced")
        let replacing = try parent.status(of: family) != nil
        try parent.rename(temporary, to: family, replacing ? .exchange : .noReplace)
        try parent.sync()
        FaultInjection.pausePoint("appdata-push-swapped")
        let synced = clock.now
        // After the exchange the temporary name holds the previous copy.
        try parent.removeTree(temporary)
        try mine.removeTree(family)
        return Push(copied: report, replacedPrevious: replacing, copying: copied - started, syncing: synced - copied,
                    removing: clock.now - synced)
    }

    /// The directory `name` in `parent`; nil when missing or something else (then reported).
    private static func directory(_ name: String, in parent: OpenDirectory, _ report: inout TreeCopy.Report) throws -> OpenDirectory? {
        guard let st = try parent.status(of: name) else { return nil }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            report.skipped.append("\(parent.display(name)) (not a directory: \(TreeCopy.kindName(st.st_mode)))")
            return nil
        }
        return try parent.openDirectory(name)
    }
}
