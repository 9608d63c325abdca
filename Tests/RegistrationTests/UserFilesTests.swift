import Foundation
import Glibc
import LinuxSystem
import Testing
import TestSupport

@Suite(.serialized) struct UserFilesTests {
    /// What a job costs beyond its own work: the hand-over to the worker thread, and for
    /// root the switch to the user's ids and back. Printed, not asserted.
    @Test func perJobCost() throws {
        let files = UserFiles()
        let home = TestEnvironment.makeTemporaryDirectory("appattach-home")
        defer { try? FileManager.default.removeItem(atPath: home) }
        var account = try Accounts.account(id: geteuid())!
        account.home = home
        var target = account
        let otherHome = TestEnvironment.makeTemporaryDirectory("appattach-home")
        defer { try? FileManager.default.removeItem(atPath: otherHome) }
        if TestEnvironment.isRoot, let nobody = try Accounts.account(named: "nobody") {
            // Any non-root account shows the cost of switching; its home is only opened.
            target = nobody
            target.home = otherHome
            chown(otherHome, nobody.uid, nobody.gid)
        }
        let rounds = 2000
        for user in [account, target] {
            _ = try files.perform(as: user) { _ in 0 }
            let start = ContinuousClock.now
            for _ in 0..<rounds { _ = try files.perform(as: user) { _ in geteuid() } }
            let perJob = (ContinuousClock.now - start) / rounds
            print("UserFiles job as \(user.name) (\(user.uid == geteuid() ? "no switch" : "switch and back")): \(perJob)")
        }
        #expect(try files.perform(as: target) { _ in geteuid() } == target.uid)
    }

    @Test func pathsThatLeaveTheDirectoryAreRefused() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let confined = try ConfinedDirectory(path: dir)
        for path in ["../x", "/etc/passwd", "a/../../x", "a//b", "./x"] {
            #expect(throws: SystemCallError.self, "\(path)") { try confined.writeFile(path, [1]) }
        }
        try FileManager.default.createSymbolicLink(atPath: dir + "/up", withDestinationPath: "..")
        #expect(throws: SystemCallError.self) { try confined.writeFile("up/escaped", [1]) }
        #expect(throws: SystemCallError.self) { try confined.readRegularFile("up/anything") }
        #expect(!FileManager.default.fileExists(atPath: dir + "/../escaped"))
    }

    @Test func jobErrorsComeBackAndTheWorkerGoesOn() throws {
        let files = UserFiles()
        let home = TestEnvironment.makeTemporaryDirectory("appattach-home")
        defer { try? FileManager.default.removeItem(atPath: home) }
        var user = try Accounts.account(id: geteuid())!
        user.home = home
        struct Boom: Error {}
        #expect(throws: Boom.self) { try files.perform(as: user) { _ in throw Boom() } }
        user.home = home + "/missing"
        #expect(throws: SystemCallError.self) { try files.perform(as: user) { _ in 1 } }
        user.home = home
        #expect(try files.perform(as: user) { home in try home.list("") } == [])
    }
}
