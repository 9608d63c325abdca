import Foundation
import Glibc
import LinuxSystem

/// A real account made with `useradd` for one test (named `aat…`, with a group of its name),
/// with a private home (the user's, 0700) below `base`; `remove()` deletes account, group and
/// home. Call `remove()` in a `defer` right after making one.
public final class TestUser: Sendable {
    /// What every test user's name starts with (a runner checks that none is left after a run).
    public static let namePrefix = "aat"

    /// The account as NSS has it.
    public let account: UserAccount
    /// The user's home: `base/<name>`.
    public let home: String

    /// `base`: the directory to make the home in (made if missing; it must be reachable by everyone).
    /// `uid`: the user id to give the account (`useradd --uid`), such as one a deleted test
    /// user had; by default `useradd` picks one.
    public init(base: String, uid: uid_t? = nil) throws {
        let name = Self.namePrefix + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        home = base + "/" + name
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let made = try TestEnvironment.run(["useradd", "--no-create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin",
                                            "--user-group"] + (uid.map { ["--uid", "\($0)"] } ?? []) + [name])
        guard made.status == 0, let account = try? Accounts.account(named: name) else {
            Self.delete(name)
            throw TestFailure("useradd \(name): \(made.output)")
        }
        self.account = account
        // A home as an administrator makes it: the user's, and closed to everyone else.
        mkdir(home, 0o700)
        chown(home, account.uid, account.gid)
        chmod(home, 0o700)
    }

    /// A uid no account has, from a range `useradd` does not hand out by itself (it takes the
    /// lowest free one from 1000): a test that deletes a user and gives the uid again cannot
    /// have it taken meanwhile by another test's `useradd`.
    public static func reservedUID() -> uid_t {
        while true {
            let uid = uid_t.random(in: 40_000..<50_000)
            if getpwuid(uid) == nil { return uid }
        }
    }

    /// Deletes the account, its group and the home.
    public func remove() {
        Self.delete(account.name)
        try? FileManager.default.removeItem(atPath: home)
    }

    /// Deletes the account and its group as an administrator would (`userdel`, no `-r`),
    /// leaving the home; `remove()` afterwards still takes the home.
    public func deleteAccount() throws {
        let deleted = try TestEnvironment.run(["userdel", account.name])
        guard deleted.status == 0 else { throw TestFailure("userdel \(account.name): \(deleted.output)") }
        _ = try? TestEnvironment.run(["groupdel", account.name])
    }

    /// Deletes the account `name` and its group, if there.
    private static func delete(_ name: String) {
        _ = try? TestEnvironment.run(["userdel", name])
        _ = try? TestEnvironment.run(["groupdel", name])
    }

    /// Runs a shell command as the user, in the home (planting what a user could plant).
    /// Throws when it fails, unless `mayFail`.
    @discardableResult
    public func shell(_ command: String, mayFail: Bool = false) throws -> (status: Int32, output: String) {
        let result = try TestEnvironment.run(["setpriv", "--reuid=\(account.uid)", "--regid=\(account.gid)", "--init-groups",
                                              "env", "HOME=\(home)", "sh", "-c", "cd && " + command])
        guard result.status == 0 || mayFail else { throw TestFailure("as \(account.name): \(command): \(result.output)") }
        return result
    }

    /// Owner uid of `path` (not following a link there).
    public func owner(_ path: String) -> uid_t? { lstatus(path)?.st_uid }
}

/// `lstat`, for checks: nil when `path` does not exist.
public func lstatus(_ path: String) -> stat? {
    var st = stat()
    return lstat(path, &st) == 0 ? st : nil
}
