import Foundation
import Glibc
import Testing
import TestSupport
@testable import LinuxSystem

/// `UserFiles` against jobs that block for real: a job that opens a FIFO for writing stays in
/// `open(2)` until someone opens it for reading, and nothing can interrupt it. The pool must
/// give up on it at its deadline, set its thread aside, start another, refuse the user's work
/// until the thread comes back, and serve other users meanwhile. Threads are counted by name
/// in `/proc/self/task`. Every FIFO is opened for reading in a `defer`, which lets the blocked
/// thread go.
@Suite("user files: deadlines and stuck threads (root: users)", .serialized,
       .enabled(if: TestEnvironment.isRoot && TestEnvironment.hasUser("nobody") && TestEnvironment.hasUser("daemon"),
                "needs root to act as nobody and daemon"))
struct UserFilesDeadlineTests {
    /// A FIFO that jobs open for writing, and its release.
    final class Trap: Sendable {
        let path: String
        init(in directory: String, _ name: String) throws {
            path = directory + "/" + name
            guard mkfifo(path, 0o666) == 0 else { throw SystemCallError("mkfifo", path) }
            chmod(path, 0o666)
        }
        /// Blocks in `open(2)` until `release()`; then writes a byte and closes.
        func job(_: UserHome) throws -> Int32 {
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw SystemCallError("open", path) }
            defer { close(fd) }
            return Int32(write(fd, "x", 1))
        }
        /// Opens the FIFO for reading (without waiting): a writer blocked in `open` returns.
        func release() {
            let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
            if fd >= 0 { usleep(50_000); close(fd) }
        }
    }

    /// Accounts with homes of their own in `directory`.
    static func account(_ name: String, in directory: String) throws -> UserAccount {
        var account = try #require(try Accounts.account(named: name))
        account.home = directory + "/" + name
        mkdir(account.home, 0o700)
        chown(account.home, account.uid, account.gid)
        return account
    }

    /// The pool's workers (not its deadline watcher, `<label>-watch`), from `/proc/self/task`.
    static func threads(_ label: String) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []).filter {
            let name = ((try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            return name.hasPrefix(label + "-") && !name.hasSuffix("-watch")
        }.count
    }

    /// Polls `condition` without blocking a thread, for at most `limit`.
    static func waitFor(_ limit: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
        let end = ContinuousClock.now + limit
        while !condition() && ContinuousClock.now < end { try? await Task.sleep(for: .milliseconds(20)) }
        return condition()
    }

    static func scratch() -> String {
        let directory = TestEnvironment.makeTemporaryDirectory("userfiles")
        chmod(directory, 0o755)
        return directory
    }

    /// Runs `body` on a new thread and returns how long it took there, and its outcome.
    static func timedOnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async -> (Duration, Result<T, any Error>) {
        await withCheckedContinuation { continuation in
            Thread {
                let started = ContinuousClock.now
                let outcome = Result { try body() }
                continuation.resume(returning: (ContinuousClock.now - started, outcome))
            }.start()
        }
    }

    final class Returned: @unchecked Sendable {
        let lock = NSLock()
        var uids: [UInt32] = []
        func add(_ uid: UInt32) { lock.withLock { uids.append(uid) } }
        var all: [UInt32] { lock.withLock { uids } }
    }

    @Test("a job that blocks in open(2) past its deadline: the caller is told at the deadline, the thread is set aside and replaced, the user is refused until it returns, another user is served; the thread that returns ends")
    func stuckJobIsReplaced() async throws {
        let directory = Self.scratch()
        defer { TestEnvironment.removeTemporaryDirectory(directory) }
        let nobody = try Self.account("nobody", in: directory), daemon = try Self.account("daemon", in: directory)
        let trap = try Trap(in: directory, "fifo")
        defer { trap.release() }
        let label = "ufd" + String(UInt16.random(in: 0x100...0xFFF), radix: 16)
        let files = UserFiles(threads: 2, deadline: .within(.milliseconds(300)), label: label)
        let returned = Returned()
        files.onStuckThreadReturned { returned.add($0) }
        #expect(await Self.waitFor { Self.threads(label) == 2 })

        // Waited for on a thread of its own: the time is the deadline watcher's, not that of a
        // cooperative thread (which other suites of a parallel run can keep busy for seconds).
        let (told, outcome) = await Self.timedOnThread { try files.perform(as: nobody) { try trap.job($0) } }
        switch outcome {
        case .success: Issue.record("a job blocked in open(2) cannot finish")
        case .failure(let error as HomeUnresponsive):
            #expect(error.uid == nobody.uid && error.reason == .deadlinePassed(.within(.milliseconds(300)), stalled: false, replaced: true))
            #expect(error.description.contains(nobody.home) && error.description.contains("did not finish within 300 ms"), "\(error)")
        case .failure(let error): Issue.record("not HomeUnresponsive: \(error)")
        }
        print("stuck job: told after \(told); threads named \(label)-*: \(Self.threads(label))")
        // 300 ms, and room for a test process stalled by other suites for a moment.
        #expect(told < .seconds(5))
        #expect(files.threads == UserFiles.ThreadCounts(serving: 2, stuck: 1))
        #expect(await Self.waitFor { Self.threads(label) == 3 }, "one stuck, two serving")
        #expect(files.stuckUsers.keys.sorted() == [nobody.uid])

        // The user's next job is refused at once; another user's runs, twice, on the new thread.
        let refusedAt = ContinuousClock.now
        await #expect(throws: HomeUnresponsive.self) { try await files.perform(as: nobody) { _ in 1 } }
        #expect(ContinuousClock.now - refusedAt < .seconds(2), "refused at once, not after a deadline")
        for _ in 0..<2 { #expect(try await files.perform(as: daemon) { _ in geteuid() } == daemon.uid) }

        // The thread comes back: its late result is dropped, it ends, the user is served again.
        trap.release()
        #expect(await Self.waitFor { returned.all == [nobody.uid] })
        #expect(await Self.waitFor { Self.threads(label) == 2 })
        #expect(files.threads == UserFiles.ThreadCounts(serving: 2, stuck: 0))
        #expect(try await files.perform(as: nobody) { _ in geteuid() } == nobody.uid)
    }

    @Test("one user's jobs run one at a time in the order given, while another user's run beside them")
    func perUserOrder() async throws {
        let directory = Self.scratch()
        defer { TestEnvironment.removeTemporaryDirectory(directory) }
        let nobody = try Self.account("nobody", in: directory), daemon = try Self.account("daemon", in: directory)
        let files = UserFiles(threads: 4)
        final class Trace: @unchecked Sendable {
            let lock = NSLock()
            var entries: [String] = []
            var inside: [UInt32: Int] = [:]
            var overlap = false
            func enter(_ uid: UInt32, _ n: Int) { lock.withLock { inside[uid, default: 0] += 1; overlap = overlap || inside[uid]! > 1; entries.append("\(uid):\(n)") } }
            func leave(_ uid: UInt32) { lock.withLock { inside[uid]! -= 1 } }
        }
        let trace = Trace()
        await withTaskGroup(of: Void.self) { group in
            for n in 0..<6 {
                for user in [nobody, daemon] {
                    // Handed over in order: each enqueues before the next task starts.
                    group.addTask {
                        _ = try? await files.perform(as: user) { _ in
                            trace.enter(user.uid, n)
                            usleep(20_000)
                            trace.leave(user.uid)
                        }
                    }
                    try? await Task.sleep(for: .milliseconds(2))
                }
            }
        }
        #expect(!trace.overlap, "never two jobs of one user at once")
        for uid in [nobody.uid, daemon.uid] {
            #expect(trace.entries.filter { $0.hasPrefix("\(uid):") } == (0..<6).map { "\(uid):\($0)" })
        }
    }

    @Test("a job that notes progress lives past its stall limit; one that stops noting it is ended at the stall limit")
    func progressKeepsAJobAlive() async throws {
        let directory = Self.scratch()
        defer { TestEnvironment.removeTemporaryDirectory(directory) }
        let nobody = try Self.account("nobody", in: directory), daemon = try Self.account("daemon", in: directory)
        let files = UserFiles(threads: 2, deadline: UserFiles.JobDeadline(limit: .seconds(20), stall: .milliseconds(300)))
        let moving = try await files.perform(as: nobody) { _ in
            for _ in 0..<15 { usleep(100_000); UserFiles.noteProgress() }
            return "done"
        }
        #expect(moving == "done", "1.5 s with progress every 100 ms, under a 300 ms stall limit")
        do {
            _ = try await files.perform(as: daemon) { _ in usleep(1_000_000) }
            Issue.record("a job without progress must be ended at its stall limit")
        } catch let error as HomeUnresponsive {
            guard case .deadlinePassed(_, let stalled, _) = error.reason else { Issue.record("\(error)"); return }
            #expect(stalled && error.description.contains("made no progress for 300 ms"), "\(error)")
        }
    }

    @Test("past maximumStuckThreads no thread is replaced, and users whose homes did not answer are refused until one returns; others are served")
    func capOnStuckThreads() async throws {
        let directory = Self.scratch()
        defer { TestEnvironment.removeTemporaryDirectory(directory) }
        let nobody = try Self.account("nobody", in: directory), daemon = try Self.account("daemon", in: directory)
        let root = try Self.account("root", in: directory)
        let first = try Trap(in: directory, "first"), second = try Trap(in: directory, "second")
        defer { first.release(); second.release() }
        let label = "ufc" + String(UInt16.random(in: 0x100...0xFFF), radix: 16)
        let files = UserFiles(threads: 2, deadline: .within(.milliseconds(200)), maximumStuckThreads: 1, label: label)

        await #expect(throws: HomeUnresponsive.self) { try await files.perform(as: nobody) { try first.job($0) } }
        #expect(files.threads == UserFiles.ThreadCounts(serving: 2, stuck: 1), "the first is replaced")
        do {
            _ = try await files.perform(as: daemon) { try second.job($0) }
            Issue.record("a job blocked in open(2) cannot finish")
        } catch let error as HomeUnresponsive {
            #expect(error.reason == .deadlinePassed(.within(.milliseconds(200)), stalled: false, replaced: false), "\(error)")
            #expect(error.description.contains("not replaced, as too many are stuck"))
        }
        #expect(files.threads == UserFiles.ThreadCounts(serving: 1, stuck: 2), "past the cap, not replaced")
        #expect(await Self.waitFor { Self.threads(label) == 3 })

        // Nobody's thread returns: stuck threads are at the cap, and daemon (stuck) and nobody
        // (whose home did not answer) are refused; root, who never timed out, is served.
        first.release()
        #expect(await Self.waitFor { files.threads == UserFiles.ThreadCounts(serving: 2, stuck: 1) })
        do {
            _ = try await files.perform(as: nobody) { _ in 1 }
            Issue.record("at the cap, a user whose home did not answer is refused")
        } catch let error as HomeUnresponsive {
            #expect(error.reason == .tooManyStuck(stuckThreads: 1) && error.description.contains("refused until one returns"), "\(error)")
        }
        await #expect(throws: HomeUnresponsive.self) { try await files.perform(as: daemon) { _ in 1 } }
        #expect(try await files.perform(as: root) { _ in 7 } == 7)

        second.release()
        #expect(await Self.waitFor { files.threads == UserFiles.ThreadCounts(serving: 2, stuck: 0) })
        #expect(try await files.perform(as: nobody) { _ in geteuid() } == nobody.uid)
        #expect(await Self.waitFor { Self.threads(label) == 2 })
    }
}
