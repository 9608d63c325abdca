import Dispatch
import Foundation

/// A task executor with one thread of its own: what runs on it blocks that thread, never one
/// of the cooperative pool. The pool is as wide as the host has cores (two on a small host):
/// work that blocks in it (a loop of stages, a child process awaited) stalls everything else
/// that awaits, and synchronous code that waits for async work (`runBlocking`) could wait on
/// a pool thread that will never come.
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

extension ThreadExecutor {
    /// Runs async `work` on a thread of its own and waits for it: for synchronous code (a
    /// command's main thread, a check called from a synchronous API) that must use an async
    /// library. The wait never depends on a thread of the cooperative pool being free, as long
    /// as `work` does not hop to an actor that needs one.
    public static func runBlocking<T: Sendable, E: Error>(_ work: @escaping @Sendable () async throws(E) -> T) throws(E) -> T {
        let executor = ThreadExecutor()
        defer { executor.stop() }
        let box = ResultBox<T, E>()
        let done = DispatchSemaphore(value: 0)
        Task(executorPreference: executor) {
            do throws(E) { box.result = .success(try await work()) } catch { box.result = .failure(error) }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    private final class ResultBox<T, E: Error>: @unchecked Sendable {
        var result: Result<T, E>?
    }
}
