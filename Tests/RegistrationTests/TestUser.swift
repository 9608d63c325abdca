import Foundation
import Glibc
import LinuxSystem
import TestSupport

/// A real account made with `useradd` for one test, with a home below the fixture directory,
/// and removed again (account, group, home) by `remove()`.
final class TestUser: Sendable {
    let account: UserAccount
    let home: String

    /// `base`: the directory to make the home in (it must be reachable by everyone).
    init(base: String = CoffeeFixture.shared.root + "/home") throws {
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

    func remove() {
        _ = try? TestEnvironment.run(["userdel", account.name])
        _ = try? TestEnvironment.run(["groupdel", account.name])
        try? FileManager.default.removeItem(atPath: home)
    }

    /// Runs a shell command as the user (for planting what a user could plant).
    func shell(_ command: String) throws {
        let result = try TestEnvironment.run(["setpriv", "--reuid=\(account.uid)", "--regid=\(account.gid)", "--init-groups",
                                              "env", "HOME=\(home)", "sh", "-c", "cd && " + command])
        guard result.status == 0 else { throw TestFailure("as \(account.name): \(command): \(result.output)") }
    }

    /// Owner uid of `path` (not following a link there).
    func owner(_ path: String) -> uid_t? {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_uid : nil
    }
}
