import Dispatch
import Foundation
import Glibc
import Synchronization
import Testing
import TestSupport
@testable import LinuxSystem

/// The order in which one worker takes queued jobs: first come, first served, except that a
/// job continuing a user's work (`continuing: true`) goes ahead of those not started yet.
@Suite("user files: continuing jobs go first (root: users)",
       .enabled(if: TestEnvironment.isRoot && TestEnvironment.hasUser("nobody"), "needs root to act as nobody"))
struct UserFilesOrderTests {
    @Test("with one worker busy, jobs queued A, B, then continuing C and D: they run C, D, A, B")
    func continuingJobsGoAhead() async throws {
        let directory = TestEnvironment.makeTemporaryDirectory("userfiles-order")
        defer { TestEnvironment.removeTemporaryDirectory(directory) }
        chmod(directory, 0o755)
        let nobody = try UserFilesDeadlineTests.account("nobody", in: directory)
        let files = UserFiles(threads: 1, label: "ordertest")
        let gate = DispatchSemaphore(value: 0), started = DispatchSemaphore(value: 0)
        let order = Recorder()
        // The only worker waits in this job until every other job is queued.
        let blocker = Task { try await files.perform(as: nobody) { _ in started.signal(); gate.wait() } }
        try await TestEnvironment.onOwnThread { started.wait() }
        var queued: [Task<Void, any Error>] = []
        for (name, continuing) in [("A", false), ("B", false), ("C", true), ("D", true)] {
            queued.append(Task { try await files.perform(as: nobody, continuing: continuing) { _ in order.add(name) } })
            // Each queued before the next.
            while files.pool.waitingCount < queued.count { try await Task.sleep(for: .milliseconds(5)) }
        }
        gate.signal()
        try await blocker.value
        for task in queued { try await task.value }
        #expect(order.names == ["C", "D", "A", "B"])
    }

    /// The names of the jobs, in the order they ran.
    final class Recorder: Sendable {
        private let list = Mutex<[String]>([])
        func add(_ name: String) { list.withLock { $0.append(name) } }
        var names: [String] { list.withLock { $0 } }
    }
}
