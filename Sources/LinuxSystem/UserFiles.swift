import Dispatch
import Glibc

/// Runs file work in users' home directories with the user's own credentials: the one place
/// in appattach that acts as a user.
///
/// Root must not write into a home through paths the user controls, and on an NFS home
/// exported with `root_squash` root cannot write at all. So each job runs on one dedicated
/// worker thread that switches *its own* effective uid, gid and groups to the user's with
/// raw system calls (see `ThreadCredentials`: glibc's wrappers would switch every thread of
/// the agent), opens the home, runs, and switches back. A few such threads serve one queue,
/// so that several users' homes are written at once (a sign-in storm); each thread runs one
/// job at a time, and the caller keeps one user's jobs in order by awaiting each.
///
/// Why a thread and not a child process: a `posix_spawn` of a helper costs about a
/// millisecond (exec, dynamic linking, Swift runtime start) against microseconds for the
/// switch, and sign-in registration for ten packages must stay within ten milliseconds.
/// The thread is as safe as a child for this purpose: its effective capabilities are gone
/// while it is the user, its real and saved uid stay 0 so the user cannot signal or trace
/// it, and it runs nothing but the job. Swift concurrency cannot be allowed near it (a task
/// could resume on a switched thread), which is why it is a plain POSIX thread with its own
/// queue. If switching back ever fails the worker stops for good and fails every later job.
public final class UserFiles: Sendable {
    private let worker = Worker()

    /// Starts `threads` worker threads (at least one).
    public init(threads: Int = 4) {
        let worker = self.worker
        for index in 0..<max(1, threads) {
            startThread(named: "userfiles-\(index)") { worker.serve() }
        }
    }

    /// Lets the worker finish the jobs already queued, then end.
    deinit { worker.shutdown() }

    /// Runs `job` as `user` on the worker thread with the user's home open, and waits.
    /// Errors thrown by `job` are rethrown; failing to become the user or to open the home
    /// throws `SystemCallError`.
    public func perform<T: Sendable>(as user: UserAccount, _ job: @escaping @Sendable (UserHome) throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<T, any Error> = .failure(SystemCallError("userfiles", user.description, errno: ECANCELED))
        worker.enqueue(user, job) { result in
            outcome = result
            done.signal()
        }
        done.wait()
        return try outcome.get()
    }

    /// `perform`, for async callers: suspends instead of blocking a cooperative thread.
    public func perform<T: Sendable>(as user: UserAccount, _ job: @escaping @Sendable (UserHome) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            worker.enqueue(user, job) { continuation.resume(with: $0) }
        }
    }
}

/// The queue and the thread loop behind `UserFiles`.
private final class Worker: @unchecked Sendable {
    private struct Job {
        let run: () -> Void
        let fail: (any Error) -> Void
    }

    private let condition = ConditionLock()
    private var queue: [Job] = []
    private var stopping = false
    private var broken: SystemCallError?

    func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    func enqueue<T>(_ user: UserAccount, _ job: @escaping (UserHome) throws -> T,
                    _ finish: @escaping (Result<T, any Error>) -> Void) {
        condition.lock()
        defer { condition.unlock() }
        if let broken { return finish(.failure(broken)) }
        queue.append(Job(run: { finish(self.run(user, job)) }, fail: { finish(.failure($0)) }))
        condition.signal()
    }

    /// On the worker: switch, open the home, run, switch back.
    private func run<T>(_ user: UserAccount, _ job: (UserHome) throws -> T) -> Result<T, any Error> {
        let credentials: ThreadCredentials
        do { credentials = try ThreadCredentials.become(user) } catch { return .failure(error) }
        // The home is opened as the user: with root_squash, root could not even open it.
        let result = Result<T, any Error> { try job(UserHome(user: user)) }
        do {
            try credentials.restore()
        } catch {
            // Still the user: the process stays non-dumpable for good.
            condition.lock()
            broken = error
            condition.unlock()
        }
        return result
    }

    func serve() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping && broken == nil { condition.wait() }
            if let broken {
                // The thread may still carry a user's ids: it must run nothing more.
                let left = queue
                queue = []
                condition.unlock()
                for job in left { job.fail(broken) }
                return
            }
            if queue.isEmpty && stopping { condition.unlock(); return }
            let job = queue.removeFirst()
            condition.unlock()
            job.run()
        }
    }
}
