import Glibc
import LinuxSystem

/// The life cycle of users' app data: makes a package's layer (restoring it from the profile
/// copy), and at sign-out pushes it into the profile atomically and retires it.
///
/// Root makes only `users/` (root's, 0711) and `users/<uid>/` (the user's, 0700). Everything
/// below `users/<uid>/` and everything in the home is the user's, so that work runs as the
/// user on the `UserFiles` worker: the kernel's permission checks are the user's own, and no
/// link the user placed can make the agent reach anything the user could not.
///
/// Whose data wins: every profile copy has a generation (`ProfileGeneration`), and every layer
/// records the generation it was restored from and, once a push begins, the one it is pushed
/// as (`LayerRecord`). A layer replaces the profile copy only if it was made from that very
/// copy. Otherwise (another host pushed since, or the layer was left behind) neither replaces
/// the other: the layer's data is kept beside the profile copy as `<family>.kept-<UTC time>`
/// and the result says so. A layer is removed by renaming it to a name nothing reads
/// (`.<family>.retired-<random>`) first, so a removal cut short never leaves half a layer
/// under the family's name.
public struct AppDataStore: Sendable {
    /// The directory of all users' layers (`/var/lib/appattach/users`).
    public let usersDirectory: String
    /// Where the user's file work runs.
    public let files: UserFiles
    /// Where running apps are seen: a layer in use is never retired by a preparation.
    public let scopes: AppScopes
    /// Where a test makes the work stop as a crash would (nil: never).
    var interruption: Interruption?
    /// The deadline of restores and pushes, which take as long as the data is large: best a
    /// `stall` limit (the copies note progress per entry); nil: the pool's default.
    public var deadline: UserFiles.JobDeadline?

    /// A store for the layers in `usersDirectory`.
    public init(usersDirectory: String = AppDataLayout.defaultUsersDirectory, files: UserFiles, scopes: AppScopes = AppScopes(),
                deadline: UserFiles.JobDeadline? = nil) {
        self.usersDirectory = usersDirectory
        self.files = files
        self.scopes = scopes
        self.deadline = deadline
    }

    /// What `prepareLayer` found or did.
    public enum Preparation: Sendable, Equatable {
        /// The layer was there already: it holds this host's newer data (or its apps run) and
        /// is left as it is.
        case existing
        /// A new layer was made; `restored` is what came from the profile copy (nil: there was none).
        case made(restored: TreeCopy.Report?)
        /// The layer there had been made from a profile copy that has changed since (another
        /// host pushed, or it was left behind): its data was kept beside the profile copy at
        /// `kept` (relative to the home; `copied` says what went there), then a new layer was
        /// made and `restored` from the profile copy.
        case replaced(kept: String, copied: TreeCopy.Report, restored: TreeCopy.Report?)
        /// No layer was made: there was none, and no saved data to restore into one (no
        /// profile copy, or an empty one). The first launch makes it (`prepareLayers` only).
        case nothingToRestore

        /// What came from the profile copy into a new layer; nil for an existing layer or none.
        public var restored: TreeCopy.Report? {
            switch self {
            case .existing, .nothingToRestore: nil
            case .made(let restored), .replaced(_, _, let restored): restored
            }
        }
    }

    /// What a push did.
    public struct Push: Sendable, Equatable {
        /// What was copied into the profile (into the kept copy when `kept` is set).
        public var copied: TreeCopy.Report
        /// Whether a previous profile copy was replaced (false: the first push, or a kept copy).
        public var replacedPrevious: Bool
        /// Time spent copying, making the copy durable (syncfs, exchange, fsync), and removing
        /// the previous copy and the layer.
        public var copying: Duration, syncing: Duration, removing: Duration
        /// Set when the layer could not replace the profile copy (it changed since the layer
        /// was made from it): where its data was kept instead, relative to the home.
        public var kept: String? = nil
        /// Retired layers that could not be removed yet, each error naming the directory and
        /// the reason; the next preparation or push of the package tries again.
        public var leftovers: [String] = []
    }

    /// Where a test makes a push or a preparation stop as if the process died there: the
    /// work throws `Interrupted` at once and cleans nothing up. Each is also a
    /// `FaultInjection` pause point of the same name.
    enum Interruption: String, Sendable {
        /// The new copy is durable under its temporary name; the layer records it.
        case pushSynced = "appdata-push-synced"
        /// The new copy has the family's name; the previous one and the layer are still there.
        case pushSwapped = "appdata-push-swapped"
        /// The layer has its retired name; nothing of it is removed yet.
        case layerRetired = "appdata-layer-retired"
    }

    /// The error of an `Interruption`.
    struct Interrupted: Error, CustomStringConvertible {
        let point: Interruption
        var description: String { "interrupted at \(point.rawValue) (a test)" }
    }

    /// Makes sure `user`'s layer for `packageFamilyName` exists with every area's `upper` and
    /// `work`. A missing layer is made under a temporary name, filled from the profile copy
    /// (`config`, `data`, `state`), made durable (`syncfs`), and renamed into place, so a
    /// present layer is always complete and a crash leaves only a leftover that the next call
    /// removes.
    ///
    /// A layer that is there is used only when it was made from the profile copy as it is now
    /// (it holds this host's newer data). One that was already pushed is retired and made anew;
    /// one made from a profile copy that changed since is kept in the home (`.replaced`),
    /// retired and made anew. While apps of the package run, the layer is left as it is: the
    /// push at sign-out settles it.
    public func prepareLayer(for user: UserAccount, packageFamilyName: String) throws(AppDataError) -> Preparation {
        let layout = try AppDataLayout(uid: user.uid, packageFamilyName: packageFamilyName, usersDirectory: usersDirectory)
        try prepareUserDirectory(layout, user)
        let inUse = isInUse(layout), interruption = interruption
        do {
            return try files.perform(as: user, deadline: deadline) { home in
                try LayerWork(layout: layout, home: home, interruption: interruption).prepare(inUse: inUse)
            }
        } catch {
            throw AppDataError("cannot prepare the app data of \(packageFamilyName) for \(user.name): \(error)", cause: error)
        }
    }

    /// `prepareLayer`, for async callers: suspends while the worker runs. Named apart, so that
    /// synchronous callers in async code keep the blocking one.
    public func prepareLayerAsync(for user: UserAccount, packageFamilyName: String) async throws(AppDataError) -> Preparation {
        let layout = try AppDataLayout(uid: user.uid, packageFamilyName: packageFamilyName, usersDirectory: usersDirectory)
        try prepareUserDirectory(layout, user)
        let inUse = isInUse(layout), interruption = interruption
        do {
            return try await files.perform(as: user, deadline: deadline) { home in
                try LayerWork(layout: layout, home: home, interruption: interruption).prepare(inUse: inUse)
            }
        } catch {
            throw AppDataError("cannot prepare the app data of \(packageFamilyName) for \(user.name): \(error)", cause: error)
        }
    }

    /// `prepareLayer` for several packages of one user in one visit of the worker (a regular
    /// registration prepares all of the user's packages at sign-in). Each package succeeds or
    /// fails on its own; the results come in the order of `packageFamilyNames`, each with the
    /// time its own layer took. A package with no layer and no saved data gets none
    /// (`.nothingToRestore`): an empty layer made now would be the one its first launch makes,
    /// at the cost of ten directories and a sync in the sign-in.
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
        let planned = layouts.map { family, layout in (family, layout, (try? layout.get()).map(isInUse) ?? false) }
        let interruption = interruption
        do {
            // The registration's files were just written on a worker: its layers go ahead of
            // the users who have not been served yet.
            return try await files.perform(as: user, deadline: deadline, continuing: true) { home in
                Self.prepareAll(planned, home: home, user: user, interruption: interruption)
            }
        } catch {
            let failure = AppDataError("cannot prepare the app data for \(user.name): \(error)", cause: error)
            return packageFamilyNames.map { ($0, .failure(failure), .zero) }
        }
    }

    /// The worker's part of `prepareLayers`: every layer made, then one `syncfs` for all those
    /// restored from profile copies (one sync of the file system covers them all; one per layer
    /// cost most of a regular registration), then each renamed into place. A layer's duration
    /// includes the shared sync.
    private static func prepareAll(_ planned: [(String, Result<AppDataLayout, AppDataError>, Bool)], home: UserHome,
                                   user: UserAccount, interruption: Interruption?)
        -> [(packageFamilyName: String, result: Result<Preparation, AppDataError>, duration: Duration)] {
        typealias Item = (packageFamilyName: String, result: Result<Preparation, AppDataError>, duration: Duration)
        func failed(_ family: String, _ error: any Error) -> Result<Preparation, AppDataError> {
            .failure(AppDataError("cannot prepare the app data of \(family) for \(user.name): \(error)"))
        }
        var items: [Item] = []
        var pending: [(index: Int, work: LayerWork, mine: OpenDirectory, needsSync: Bool)] = []
        for (family, layout, inUse) in planned {
            let started = ContinuousClock.now
            switch layout {
            case .failure(let error):
                items.append((family, .failure(error), .zero))
            case .success(let layout):
                let work = LayerWork(layout: layout, home: home, interruption: interruption)
                do {
                    switch try work.prepareDeferred(inUse: inUse, onlyWithData: true) {
                    case .done(let preparation):
                        items.append((family, .success(preparation), ContinuousClock.now - started))
                    case .pending(let preparation, let mine, let needsSync):
                        pending.append((items.count, work, mine, needsSync))
                        items.append((family, .success(preparation), ContinuousClock.now - started))
                    }
                } catch {
                    items.append((family, failed(family, error), ContinuousClock.now - started))
                }
            }
        }
        let syncStarted = ContinuousClock.now
        var syncFailure: SystemCallError?
        if let first = pending.first(where: \.needsSync) {
            do throws(SystemCallError) { try first.mine.syncFileSystem() } catch { syncFailure = error }
        }
        for item in pending {
            let family = items[item.index].packageFamilyName
            let finishStarted = ContinuousClock.now
            do throws(SystemCallError) {
                if item.needsSync, let syncFailure { throw syncFailure }
                try item.work.finish(in: item.mine)
            } catch {
                items[item.index].result = failed(family, error)
            }
            let shared = item.needsSync ? finishStarted - syncStarted : .zero
            items[item.index].duration += shared + (ContinuousClock.now - finishStarted)
        }
        return items
    }

    /// Pushes `user`'s layer for `packageFamilyName` into the profile copy
    /// `~/.local/share/appattach/<PackageFamilyName>/`, then retires the layer. Nil when there
    /// is nothing to push: no `users/<uid>` or no layer (a delayed registration never
    /// launched), or a layer whose push had already swapped its copy in (it is retired now).
    ///
    /// Atomic: the new copy is written beside the old one under a temporary name with a new
    /// generation, made durable with one `syncfs` of the home's file system (every file,
    /// directory and entry of the new copy reaches stable storage, as an `fsync` of each would
    /// do), recorded in the layer, then swapped in with `renameat2(RENAME_EXCHANGE)` (or
    /// `RENAME_NOREPLACE` the first time) and the directory `fsync`ed. A crash before the swap
    /// leaves the previous copy, after it the new one; the leftover beside it is removed by the
    /// next push or restore. A home that cannot exchange (NFS, SMB) gets three renames through
    /// `.<family>.old`, which the next push or restore puts back if the swap stopped halfway.
    ///
    /// A layer not made from the profile copy as it is now does not replace it: its data goes
    /// to a new `<family>.kept-<UTC time>` beside it (`Push.kept`), and the layer is retired.
    public func push(for user: UserAccount, packageFamilyName: String) throws(AppDataError) -> Push? {
        let layout = try AppDataLayout(uid: user.uid, packageFamilyName: packageFamilyName, usersDirectory: usersDirectory)
        let interruption = interruption
        do {
            return try files.perform(as: user, deadline: deadline) { home in
                try LayerWork(layout: layout, home: home, interruption: interruption).push()
            }
        } catch {
            throw AppDataError("cannot push the app data of \(packageFamilyName) for \(user.name) into the profile: \(error)", cause: error)
        }
    }

    /// `push`, for async callers: suspends while the worker runs. Named apart, as
    /// `prepareLayerAsync` is.
    public func pushAsync(for user: UserAccount, packageFamilyName: String) async throws(AppDataError) -> Push? {
        let layout = try AppDataLayout(uid: user.uid, packageFamilyName: packageFamilyName, usersDirectory: usersDirectory)
        let interruption = interruption
        do {
            return try await files.perform(as: user, deadline: deadline) { home in
                try LayerWork(layout: layout, home: home, interruption: interruption).push()
            }
        } catch {
            throw AppDataError("cannot push the app data of \(packageFamilyName) for \(user.name) into the profile: \(error)", cause: error)
        }
    }

    // MARK: - As root

    /// Whether apps of the layer's package run (for the user, seen in the cgroup tree).
    private func isInUse(_ layout: AppDataLayout) -> Bool {
        !scopes.running(uid: layout.uid, packageFamilyName: layout.packageFamilyName).isEmpty
    }

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
}
