import Foundation
import Glibc
import LinuxSystem

/// A real account made with `useradd` for one test, with a private home (the user's, 0700)
/// below `base`; `remove()` deletes account, group and home.
public final class TestUser: Sendable {
    public let account: UserAccount
    public let home: String

    /// `base`: the directory to make the home in (made if missing; it must be reachable by everyone).
    public init(base: String) throws {
        let name = "aat" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        home = base + "/" + name
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let made = try TestEnvironment.run(["useradd", "--no-create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin",
                                            "--user-group", name])
        guard made.status == 0, let account = try Accounts.account(named: name) else { throw TestFailure("useradd \(name): \(made.output)") }
        self.account = account
        // A home as an administrator makes it: the user's, and closed to everyone else.
        mkdir(home, 0o700)
        chown(home, account.uid, account.gid)
        chmod(home, 0o700)
    }

    public func remove() {
        _ = try? TestEnvironment.run(["userdel", account.name])
        _ = try? TestEnvironment.run(["groupdel", account.name])
        try? FileManager.default.removeItem(atPath: home)
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
