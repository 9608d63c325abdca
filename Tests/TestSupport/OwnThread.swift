import Foundation

/// A task executor with one thread of its own: what runs on it blocks that thread, never one
/// of the cooperative pool. The pool is as wide as the host has cores (two on a small CI
/// machine), and every test of a parallel run shares it: two tests that block in it (a loop of
/// stages, a child process awaited) stall all the others, and with them the timers and event
/// loops that tests of deadlines depend on.
public final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopped = false

    public init() {
        let thread = Thread { [self] in run() }
        thread.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Ends the thread once the jobs queued are run.
    public func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

extension TestEnvironment {
    /// Runs `body`, which blocks (stages in a loop, waits for a child process, measures), on a
    /// thread of its own and waits for it without holding a cooperative thread. It runs in the
    /// calling test's task, so `#expect` and `#require` inside it report to that test.
    public static func onOwnThread<T>(_ body: () throws -> T) async throws -> T {
        let executor = ThreadExecutor()
        defer { executor.stop() }
        return try await withTaskExecutorPreference(executor) { try body() }
    }
}
