import Glibc
import LinuxSystem

/// Root's side of app data that no account may have any more: the `users/<uid>/` directories
/// of accounts that were removed, or whose uid another account now holds.
///
/// Retiring is quick, so the agent does it on its loop: `users/<uid>` is renamed to
/// `users/.removed-<uid>-<random>` inside root's `users/`, so that nothing of it can be handed
/// to whoever holds the uid next and a fresh `users/<uid>` can be made at once; then the
/// retired directory is made root's, mode 0700, so that processes of the old uid no longer
/// enter it by path.
///
/// Purging takes as long as what the old account left (which it chose), so it runs off the
/// loop: `rm -rf --one-file-system` in a child process. GNU rm walks the tree from directory
/// descriptors, never follows a symbolic link, has no depth limit, and if anything goes wrong
/// it fails alone, not the agent. A purge cut short leaves a `.removed-…` name that the next
/// purge finds.
public struct RemovedAccounts: Sendable {
    /// The directory of all users' layers (`/var/lib/appattach/users`), root's.
    public let usersDirectory: String

    public init(usersDirectory: String = AppDataLayout.defaultUsersDirectory) {
        self.usersDirectory = usersDirectory
    }

    /// What the name of a retired directory starts with.
    public static let retiredPrefix = ".removed-"

    /// The uids that have a `users/<uid>` directory (names that are a uid written plainly).
    public func uidsWithData() throws(AppDataError) -> [UInt32] {
        guard let users = try openUsers() else { return [] }
        do {
            return try users.names().compactMap { name in UInt32(name).flatMap { String($0) == name ? $0 : nil } }.sorted()
        } catch {
            throw AppDataError("cannot list \(usersDirectory): \(error)")
        }
    }

    /// Whether `users/<uid>` exists.
    public func hasData(uid: UInt32) throws(AppDataError) -> Bool {
        guard let users = try openUsers() else { return false }
        do { return try users.status(of: String(uid)) != nil } catch {
            throw AppDataError("cannot look at \(usersDirectory)/\(uid): \(error)")
        }
    }

    /// Takes `users/<uid>` out of use (see the type's documentation) and returns the name it
    /// has now; nil when there was none.
    public func retire(uid: UInt32) throws(AppDataError) -> String? {
        guard let users = try openUsers() else { return nil }
        let name = String(uid)
        let retired = "\(Self.retiredPrefix)\(uid)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        do {
            guard let st = try users.status(of: name) else { return nil }
            try users.rename(name, to: retired, .noReplace)
            // Out of the old uid's reach before its contents go. Best effort: under its new name
            // the tree is no one's to be handed already, and the purge removes it either way.
            if st.st_mode & S_IFMT == S_IFDIR, let directory = try? users.openDirectory(retired) {
                _ = fchown(directory.descriptor, 0, 0)
                _ = fchmod(directory.descriptor, 0o700)
            }
            return retired
        } catch {
            throw AppDataError("cannot take \(usersDirectory)/\(name) out of use: \(error)")
        }
    }

    /// The names of retired directories not purged yet.
    public func retired() throws(AppDataError) -> [String] {
        guard let users = try openUsers() else { return [] }
        do { return try users.names().filter { $0.hasPrefix(Self.retiredPrefix) }.sorted() } catch {
            throw AppDataError("cannot list \(usersDirectory): \(error)")
        }
    }

    /// Removes every retired directory (blocking: call it off the agent's loop). Returns the
    /// names removed; when some could not be, throws after trying all, naming the first.
    @discardableResult
    public func purge() throws(AppDataError) -> [String] {
        var removed: [String] = [], failures: [String] = []
        for name in try retired() {
            let path = usersDirectory + "/" + name
            do {
                try ExternalCommand("rm", ["-rf", "--one-file-system", "--", path], package: "coreutils").run()
                removed.append(name)
            } catch {
                failures.append("\(path): \(error)")
            }
        }
        if let first = failures.first {
            throw AppDataError("cannot remove the app data of a removed account, \(first)"
                               + (failures.count > 1 ? " (and \(failures.count - 1) more)" : ""))
        }
        return removed
    }

    /// `users/`, which must be root's; nil when it does not exist yet.
    private func openUsers() throws(AppDataError) -> OpenDirectory? {
        do {
            return try OpenDirectory.open(usersDirectory, owner: 0)
        } catch where error.errno == ENOENT {
            return nil
        } catch {
            throw AppDataError("cannot open \(usersDirectory): \(error)")
        }
    }
}
