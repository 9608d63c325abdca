import Glibc
import Synchronization

/// The queue, the threads and the deadlines behind `UserFiles`.
///
/// Bookkeeping (all under `condition`): `serving` threads take jobs, `target` of them are
/// wanted. A job whose user has one running waits (one user's jobs run in order, one at a
/// time). A job past its deadline is failed with `HomeUnresponsive` at once by the deadline
/// queue; its thread becomes stuck (`stuck[uid]`), stops counting as serving, and a new thread
/// is started while at most `maximumStuck` are stuck. When a stuck thread's job returns, its
/// result is dropped and the thread serves again, or ends if enough others serve.
///
/// Deadlines are watched by one thread of the pool's own (`watchDeadlines`), asleep on a
/// `CLOCK_MONOTONIC` condition until the next one falls: not by timers of a shared pool
/// (Dispatch), which work elsewhere in the process could keep from firing.
final class WorkerPool: @unchecked Sendable {
    private struct Job {
        let user: UserAccount
        let deadline: UserFiles.JobDeadline
        /// Queued ahead of the jobs that had not started (see `UserFiles.perform`).
        let ahead: Bool
        /// Runs the work as the user on the worker; returns how to hand its result over.
        let work: () -> () -> Void
        let fail: (any Error) -> Void
    }

    /// A thread stuck past a deadline: since when its job started.
    private struct Stuck {
        let since: UInt64
    }

    private let condition = ConditionLock()
    private var queue: [Job] = []
    /// Users with a job running (a stuck one included).
    private var busy: Set<UInt32> = []
    private var stuck: [UInt32: Stuck] = [:]
    /// Users whose last job passed its deadline and none has finished in time since.
    private var suspects: Set<UInt32> = []
    private var serving = 0
    private let target: Int
    private let maximumStuck: Int
    let defaultDeadline: UserFiles.JobDeadline
    private var stopping = false
    private var broken: SystemCallError?
    private var returned: (@Sendable (UInt32) -> Void)?
    private var started = 0
    /// Running jobs that have a deadline, for the watcher; guarded by `watchLock`.
    private var watched: [RunningJob] = []
    private let watchLock = ConditionLock(monotonic: true)

    private let label: String

    init(threads: Int, deadline: UserFiles.JobDeadline, maximumStuck: Int, label: String) {
        self.label = label
        target = threads
        defaultDeadline = deadline
        self.maximumStuck = maximumStuck
    }

    func start() {
        condition.lock()
        serving = target
        condition.unlock()
        for _ in 0..<target { startThread() }
        LinuxSystem.startThread(named: "\(label)-watch") { self.watchDeadlines() }
    }

    private func startThread() {
        condition.lock()
        let index = started
        started += 1
        condition.unlock()
        LinuxSystem.startThread(named: "\(label)-\(index)") { self.serve() }
    }

    func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        watchLock.lock()
        watchLock.signal()
        watchLock.unlock()
    }

    /// Jobs queued and not started.
    var waitingCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count
    }

    var counts: UserFiles.ThreadCounts {
        condition.lock()
        defer { condition.unlock() }
        return UserFiles.ThreadCounts(serving: serving, stuck: stuck.count)
    }

    var stuckUsers: [UInt32: Duration] {
        condition.lock()
        defer { condition.unlock() }
        let now = Monotonic.now
        return stuck.mapValues { .nanoseconds(Int64(now &- $0.since)) }
    }

    func setReturnHandler(_ handler: @escaping @Sendable (UInt32) -> Void) {
        condition.lock()
        returned = handler
        condition.unlock()
    }

    /// Queues `job`; `ahead` puts it before the jobs waiting (after other jobs put ahead, so
    /// that those keep their order).
    func enqueue<T>(_ user: UserAccount, _ deadline: UserFiles.JobDeadline?, _ job: @escaping (UserHome) throws -> T,
                    ahead: Bool = false, _ finish: @escaping (Result<T, any Error>) -> Void) {
        condition.lock()
        if let broken {
            condition.unlock()
            return finish(.failure(broken))
        }
        if let refusal = refusal(for: user) {
            condition.unlock()
            return finish(.failure(refusal))
        }
        let entry = Job(user: user, deadline: deadline ?? defaultDeadline, ahead: ahead,
                        work: { let result = self.run(user, job); return { finish(result) } },
                        fail: { finish(.failure($0)) })
        if ahead {
            queue.insert(entry, at: queue.firstIndex { !$0.ahead } ?? queue.endIndex)
        } else {
            queue.append(entry)
        }
        condition.broadcast()
        condition.unlock()
    }

    /// Why `user`'s job is refused now, if it is (with `condition` held).
    private func refusal(for user: UserAccount) -> HomeUnresponsive? {
        if let stuck = stuck[user.uid] {
            return HomeUnresponsive(user: user.name, uid: user.uid, home: user.home,
                                    reason: .earlierJobStuck(stuckFor: .nanoseconds(Int64(Monotonic.now &- stuck.since))))
        }
        if stuck.count >= maximumStuck && suspects.contains(user.uid) {
            return HomeUnresponsive(user: user.name, uid: user.uid, home: user.home, reason: .tooManyStuck(stuckThreads: stuck.count))
        }
        return nil
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
            condition.broadcast()
            condition.unlock()
        }
        return result
    }

    private func serve() {
        while true {
            condition.lock()
            var next: Job?
            while next == nil {
                if let broken {
                    // The thread may still carry a user's ids: it must run nothing more.
                    let left = queue
                    queue = []
                    serving -= 1
                    condition.unlock()
                    for job in left { job.fail(broken) }
                    return
                }
                // One more than wanted serves (a stuck thread came back), or the pool stops.
                if serving > target || (stopping && queue.isEmpty) {
                    serving -= 1
                    condition.unlock()
                    return
                }
                if let index = queue.firstIndex(where: { !busy.contains($0.user.uid) }) {
                    next = queue.remove(at: index)
                } else {
                    condition.wait()
                }
            }
            let job = next!
            busy.insert(job.user.uid)
            condition.unlock()
            execute(job)
        }
    }

    /// Runs one job under its deadline and hands its result over, unless the deadline passed
    /// first (then the caller has had `HomeUnresponsive` and the result is dropped).
    private func execute(_ job: Job) {
        let running = RunningJob(user: job.user, deadline: job.deadline, fail: job.fail)
        if !job.deadline.isNone { watch(running) }
        CurrentJob.running = running
        let deliver = job.work()
        CurrentJob.running = nil
        if !job.deadline.isNone { unwatch(running) }
        condition.lock()
        busy.remove(job.user.uid)
        let inTime = running.state == .running
        var handler: (@Sendable (UInt32) -> Void)?
        if inTime {
            running.state = .done
            suspects.remove(job.user.uid)
        } else {
            stuck[job.user.uid] = nil
            serving += 1
            handler = returned
        }
        condition.broadcast()
        condition.unlock()
        if inTime { deliver() } else { handler?(job.user.uid) }
    }

    /// Hands `running` to the watcher.
    private func watch(_ running: RunningJob) {
        watchLock.lock()
        watched.append(running)
        watchLock.signal()
        watchLock.unlock()
    }

    /// Takes `running` from the watcher (its job returned).
    private func unwatch(_ running: RunningJob) {
        watchLock.lock()
        watched.removeAll { $0 === running }
        watchLock.unlock()
    }

    /// The watcher thread: sleeps until the earliest deadline of the running jobs (progress
    /// moves a stall limit on, so it looks again then) and fails those whose deadline passed.
    /// Ends when the pool stops and nothing is watched.
    private func watchDeadlines() {
        watchLock.lock()
        while true {
            let stopped = condition.withLock { stopping }
            if stopped && watched.isEmpty { break }
            let now = Monotonic.now
            let due = watched.filter { $0.due.at <= now }
            if !due.isEmpty {
                watched.removeAll { job in due.contains { $0 === job } }
                watchLock.unlock()
                for running in due { expire(running) }
                watchLock.lock()
                continue
            }
            // With nothing to watch, wake now and then to see whether the pool stopped.
            let next = watched.map(\.due.at).min() ?? now + 1_000_000_000
            watchLock.wait(untilMonotonic: min(next, now + 1_000_000_000))
        }
        watchLock.unlock()
    }

    /// The watcher found `running` past its deadline: fails it, sets its thread aside and
    /// replaces it, unless it returned meanwhile.
    private func expire(_ running: RunningJob) {
        condition.lock()
        guard running.state == .running else { condition.unlock(); return }
        let now = Monotonic.now
        let due = running.due
        if now < due.at {
            condition.unlock()
            watch(running)
            return
        }
        running.state = .timedOut
        let uid = running.user.uid
        stuck[uid] = Stuck(since: running.started)
        suspects.insert(uid)
        serving -= 1
        let refused = queue.filter { $0.user.uid == uid }
        queue.removeAll { $0.user.uid == uid }
        let replace = stuck.count <= maximumStuck && !stopping && broken == nil
        if replace { serving += 1 }
        let stuckFor = Duration.nanoseconds(Int64(now &- running.started))
        condition.unlock()
        if replace { startThread() }
        let user = running.user
        running.fail(HomeUnresponsive(user: user.name, uid: uid, home: user.home,
                                      reason: .deadlinePassed(running.deadline, stalled: due.stalled, replaced: replace)))
        for job in refused {
            job.fail(HomeUnresponsive(user: user.name, uid: uid, home: user.home, reason: .earlierJobStuck(stuckFor: stuckFor)))
        }
    }
}

/// One job on a worker, as its deadline sees it. `state` is guarded by the pool's lock;
/// progress is noted without it.
final class RunningJob: @unchecked Sendable {
    enum State { case running, done, timedOut }

    let user: UserAccount
    let deadline: UserFiles.JobDeadline
    let fail: (any Error) -> Void
    let started = Monotonic.now
    var state = State.running
    private let lastProgress: Atomic<UInt64>

    init(user: UserAccount, deadline: UserFiles.JobDeadline, fail: @escaping (any Error) -> Void) {
        self.user = user
        self.deadline = deadline
        self.fail = fail
        lastProgress = Atomic(started)
    }

    func noteProgress() {
        lastProgress.store(Monotonic.now, ordering: .relaxed)
    }

    /// When the deadline falls as things stand, and whether it is the stall limit's.
    var due: (at: UInt64, stalled: Bool) {
        let limitAt = deadline.limit.map { started &+ Monotonic.nanoseconds($0) } ?? .max
        let stallAt = deadline.stall.map { lastProgress.load(ordering: .relaxed) &+ Monotonic.nanoseconds($0) } ?? .max
        return stallAt < limitAt ? (stallAt, true) : (limitAt, false)
    }

}

/// The job running on the calling thread, for `UserFiles.noteProgress()`: a POSIX
/// thread-specific value, since the workers are plain threads.
enum CurrentJob {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create")
        return key
    }()

    static var running: RunningJob? {
        get { pthread_getspecific(key).map { Unmanaged<RunningJob>.fromOpaque($0).takeUnretainedValue() } }
        set { pthread_setspecific(key, newValue.map { Unmanaged.passUnretained($0).toOpaque() }) }
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds, for deadlines.
enum Monotonic {
    static var now: UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }
}
