import Foundation
import Glibc
import LinuxSystem
import Registration
import Testing
import TestSupport

/// Registration into the home of a real, freshly made account, through the credential switch.
@Suite("registration into a real account's home (root: users)", .serialized, .tags(.makesUsers),
       .enabled(if: TestEnvironment.isRoot && TestEnvironment.hasTool("useradd") && TestEnvironment.hasTool("setpriv"),
                "needs root, useradd and setpriv to make a test user"))
struct UserRegistrationTests {
    let fixture = CoffeeFixture.shared
    let pfn = CoffeeFixture.familyName
    let files = UserFiles()

    static func digest(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    @Test func registerAsTheUserThenDeregister() throws {
        let user = try TestUser()
        defer { user.remove() }
        try user.shell("mkdir -p .local/share/applications && echo mine > .local/share/applications/mine.desktop")
        let plan = fixture.plan(.regular, home: user.home)
        let changes = try Register(files: files).run([plan], for: user.account)
        #expect(changes.written.count == plan.files.count + 1)
        for path in plan.files.map(\.path) + [".config/mimeapps.list", ".config", ".config/autostart", ".local/bin"] {
            #expect(user.owner(user.home + "/" + path) == user.account.uid, "\(path)")
        }
        for file in plan.files { #expect(try Self.digest(user.home + "/" + file.path) == Data(file.contents)) }
        // Directories made for the user are private, as XDG asks.
        let mode = try FileManager.default.attributesOfItem(atPath: user.home + "/.config")[.posixPermissions] as? Int
        #expect(mode == 0o700)

        try Deregister(files: files).run(.packages([pfn]), for: user.account)
        let left = try FileManager.default.subpathsOfDirectory(atPath: user.home)
        #expect(!left.contains { $0.contains("appattach") || $0.hasSuffix("CoffeeCupAlias") }, "\(left)")
        #expect(try String(contentsOfFile: user.home + "/.local/share/applications/mine.desktop", encoding: .utf8) == "mine\n")
    }

    @Test func aDirectoryLinkToEtcIsNotFollowed() throws {
        let user = try TestUser()
        defer { user.remove() }
        try user.shell("mkdir -p .local/share && ln -s /etc .local/share/applications")
        #expect {
            try Register(files: files).run([fixture.plan(.delayed, home: user.home)], for: user.account)
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("cannot register \(pfn) for user '\(user.account.name)': ")
                && text.contains("~/.local/share/applications") && !text.contains("\n")
        }
        // Other tests add users meanwhile, so /etc is checked for our names, not compared whole.
        #expect(try FileManager.default.contentsOfDirectory(atPath: "/etc").filter { $0.hasPrefix("appattach-") || $0.hasPrefix(".appattach-") } == [])
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: user.home + "/.local/share/applications") == "/etc")
    }

    @Test func aFileLinkIsReplacedNotWrittenThrough() throws {
        let user = try TestUser()
        defer { user.remove() }
        // Root-owned files outside the home, as /etc/passwd and /etc/shadow would be (those
        // change while other tests add users, these do not).
        let passwdPath = user.home + ".passwd", shadowPath = user.home + ".shadow"
        try "root:x:0:0::/root:/bin/sh\n".write(toFile: passwdPath, atomically: false, encoding: .utf8)
        try "root:*:1::::::\n".write(toFile: shadowPath, atomically: false, encoding: .utf8)
        chmod(shadowPath, 0o600)
        defer { unlink(passwdPath); unlink(shadowPath) }
        let entry = ".local/share/applications/appattach-\(pfn)-CCoffee.desktop"
        try user.shell("mkdir -p .local/share/applications .config && ln -s \(passwdPath) \(entry) && ln -s \(shadowPath) .config/mimeapps.list")
        let passwd = try Self.digest(passwdPath)
        let shadow = try Self.digest(shadowPath)
        let changes = try Register(files: files).run([fixture.plan(.delayed, home: user.home)], for: user.account)
        #expect(try Self.digest(passwdPath) == passwd)
        #expect(try Self.digest(shadowPath) == shadow)
        #expect(user.owner(user.home + "/" + entry) == user.account.uid)
        #expect(try String(contentsOfFile: user.home + "/" + entry, encoding: .utf8).hasPrefix("[Desktop Entry]\n"))
        #expect(changes.leftAlone == ["~/.config/mimeapps.list is not a regular file; associations not changed"])
        try Deregister(files: files).run(.everyPackage, for: user.account)
        #expect(try Self.digest(shadowPath) == shadow)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: user.home + "/.config/mimeapps.list") == shadowPath)
    }

    /// Root would write into a directory whose mode forbids it (CAP_DAC_OVERRIDE); the user
    /// cannot. Failing with EACCES shows the work runs without root's override.
    @Test func rootsOverrideIsNotInEffect() throws {
        let user = try TestUser()
        defer { user.remove() }
        try user.shell("mkdir -p .local/share/applications && chmod 0555 .local/share/applications")
        #expect {
            try Register(files: files).run([fixture.plan(.delayed, home: user.home)], for: user.account)
        } throws: { error in "\(error)".contains("Permission denied") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: user.home + "/.local/share/applications").isEmpty)
    }

    /// A home only its owner may enter (0700, as a root_squash NFS export makes it for root).
    @Test func aHomeRootCannotEnterStillWorks() throws {
        let user = try TestUser()
        defer { user.remove() }
        // Without any group or other bits, and owned by the user, only the user's own ids get in
        // once root's override is gone: the job below runs with exactly those.
        chmod(user.home, 0o700)
        let ids = try files.perform(as: user.account) { home -> [UInt32] in
            try home.writeFile("probe", Array("x".utf8))
            var st = stat()
            _ = lstat(user.home + "/probe", &st)
            return [geteuid(), getegid(), st.st_uid, st.st_gid]
        }
        #expect(ids == [user.account.uid, user.account.gid, user.account.uid, user.account.gid])
        #expect(geteuid() == 0, "only the worker thread switched")
    }

    /// `kill(2)` of a thread id checks that thread's credentials: with a real uid of the
    /// user's, the user could kill the worker and with it the agent.
    @Test func theUserCannotSignalTheWorkerWhileItActsAsThem() throws {
        let user = try TestUser()
        defer { user.remove() }
        let started = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0), finished = DispatchSemaphore(value: 0)
        let tid = Recorder()
        let files = self.files, account = user.account
        DispatchQueue.global().async {
            _ = try? files.perform(as: account) { _ in
                // "/proc/thread-self" reads "<pid>/task/<tid>".
                let link = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? ""
                tid.add(String(link.split(separator: "/").last ?? ""))
                started.signal()
                release.wait()
            }
            finished.signal()
        }
        started.wait()
        let asUser = ["setpriv", "--reuid=\(account.uid)", "--regid=\(account.gid)", "--clear-groups"]
        let worker = try TestEnvironment.run(asUser + ["sh", "-c", "kill -0 \(tid.items[0])"])
        let own = try TestEnvironment.run(asUser + ["sh", "-c", "kill -0 $$"])
        release.signal()
        finished.wait()
        #expect(!tid.items[0].isEmpty)
        #expect(worker.status != 0 && worker.output.contains("not permitted"), "\(worker.output)")
        #expect(own.status == 0, "the user can signal their own processes: \(own.output)")
    }
}
