import Foundation
import Glibc
import LinuxSystem
import TestSupport

/// A real account made with `useradd` for one test, with a private home below `base`; `remove()`
/// deletes account, group and home.
final class ThrowawayUser: Sendable {
    let account: UserAccount
    let home: String

    init(base: String) throws {
        let name = "aad" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        home = base + "/" + name
        let made = try TestEnvironment.run(["useradd", "--no-create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin",
                                            "--user-group", name])
        guard made.status == 0, let account = try Accounts.account(named: name) else {
            throw AppDataTestFailure("useradd \(name): \(made.output)")
        }
        self.account = account
        mkdir(home, 0o700)
        chown(home, account.uid, account.gid)
        chmod(home, 0o700)
    }

    func remove() {
        _ = try? TestEnvironment.run(["userdel", account.name])
        _ = try? TestEnvironment.run(["groupdel", account.name])
    }

    /// Runs a shell command as the user, in the home (planting what a user could plant).
    @discardableResult
    func shell(_ command: String, mayFail: Bool = false) throws -> (status: Int32, output: String) {
        let result = try TestEnvironment.run(["setpriv", "--reuid=\(account.uid)", "--regid=\(account.gid)", "--init-groups",
                                              "env", "HOME=\(home)", "sh", "-c", "cd && " + command])
        guard result.status == 0 || mayFail else { throw AppDataTestFailure("as \(account.name): \(command): \(result.output)") }
        return result
    }
}

struct AppDataTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `lstat`, for checks.
func lstatus(_ path: String) -> stat? {
    var st = stat()
    return lstat(path, &st) == 0 ? st : nil
}
