import CLinuxShims
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
        let home = TestEnvironment.makeTemporaryDirectory("home")
        defer { try? FileManager.default.removeItem(atPath: home) }
        var account = try Accounts.account(id: geteuid())!
        account.home = home
        var target = account
        let otherHome = TestEnvironment.makeTemporaryDirectory("home")
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

    /// Two users' jobs on two worker threads at once, each with its own ids; the process is
    /// not dumpable while either is switched, and is again once both are done.
    @Test(.enabled(if: TestEnvironment.isRoot && TestEnvironment.hasUser("nobody") && TestEnvironment.hasUser("daemon"),
                   "needs root and the accounts nobody and daemon"))
    func twoUsersSideBySide() async throws {
        var first = try #require(try Accounts.account(named: "nobody"))
        var second = try #require(try Accounts.account(named: "daemon"))
        let homes = [TestEnvironment.makeTemporaryDirectory("home"), TestEnvironment.makeTemporaryDirectory("home")]
        defer { homes.forEach { try? FileManager.default.removeItem(atPath: $0) } }
        first.home = homes[0]
        second.home = homes[1]
        chown(homes[0], first.uid, first.gid)
        chown(homes[1], second.uid, second.gid)
        let files = UserFiles(threads: 2)
        final class Meeting: @unchecked Sendable {
            let condition = NSCondition()
            var inside = 0
        }
        let meeting = Meeting()
        // Each job waits (at most 5 s) until both are inside, and says what it saw then.
        let job: @Sendable (UserHome) throws -> (uid: uid_t, together: Bool, dumpable: Int32) = { _ in
            meeting.condition.lock()
            meeting.inside += 1
            meeting.condition.broadcast()
            let deadline = Date().addingTimeInterval(5)
            while meeting.inside < 2 && meeting.condition.wait(until: deadline) {}
            let together = meeting.inside >= 2
            meeting.condition.unlock()
            return (geteuid(), together, appattach_get_dumpable())
        }
        let one = first, other = second
        async let a = files.perform(as: one, job)
        async let b = files.perform(as: other, job)
        let (seenByFirst, seenBySecond) = try await (a, b)
        #expect(seenByFirst.uid == one.uid && seenBySecond.uid == other.uid, "each job ran with its user's uid")
        #expect(seenByFirst.together && seenBySecond.together, "the two jobs ran at the same time")
        #expect(seenByFirst.dumpable == 0 && seenBySecond.dumpable == 0, "not dumpable while a thread is switched")
        // The test runner is an ordinary, dumpable process; other suites' threads switch too,
        // in this same process: wait until none is switched.
        var dumpableAfter = appattach_get_dumpable()
        for _ in 0..<500 where dumpableAfter != 1 {
            try await Task.sleep(for: .milliseconds(10))
            dumpableAfter = appattach_get_dumpable()
        }
        #expect(dumpableAfter == 1, "dumpable again once no thread is switched")
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
        let home = TestEnvironment.makeTemporaryDirectory("home")
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
