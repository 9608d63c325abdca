import Dispatch
import Glibc

/// Runs file work in users' home directories with the user's own credentials: the one place
/// in appattach that acts as a user.
///
/// Root must not write into a home through paths the user controls, and on an NFS home
/// exported with `root_squash` root cannot write at all. So each job runs on a dedicated
/// worker thread that switches *its own* effective uid, gid and groups to the user's with
/// raw system calls (see `ThreadCredentials`: glibc's wrappers would switch every thread of
/// the agent), opens the home, runs, and switches back. A few such threads serve one queue,
/// so that several users' homes are written at once (a sign-in storm); one user's jobs run
/// one at a time, in the order they were handed over, whoever waits for them.
///
/// Why a thread and not a child process: a `posix_spawn` of a helper costs about a
/// millisecond (exec, dynamic linking, Swift runtime start) against microseconds for the
/// switch, and sign-in registration for ten packages must stay within ten milliseconds.
/// The thread is as safe as a child for this purpose: its effective capabilities are gone
/// while it is the user, its real and saved uid stay 0 so the user cannot signal or trace
/// it, and it runs nothing but the job. Swift concurrency cannot be allowed near it (a task
/// could resume on a switched thread), which is why it is a plain POSIX thread with its own
/// queue. If switching back ever fails the pool stops for good and fails every later job.
///
/// A home can keep a job in the kernel for ever (a FUSE server that never answers, an NFS
/// server that is gone), and nothing can interrupt a thread there. So every job may have a
/// `JobDeadline`: past it, the caller gets `HomeUnresponsive` at once, the thread is set aside
/// as stuck and a new one takes its place, so other users keep their workers. The user's
/// later jobs are refused until the stuck thread returns (at most one stuck thread per
/// user); past `maximumStuckThreads` stuck threads in all, no more are replaced and users
/// whose homes did not answer before are refused until one returns (see `PoolState`).
public final class UserFiles: Sendable {
    let pool: WorkerPool

    /// Starts `threads` worker threads (at least one). `deadline` applies to every job that
    /// names none of its own; `maximumStuckThreads` bounds the threads set aside as stuck.
    /// The threads are named `<label>-<n>` (as `ps -L` shows them; 15 bytes at most).
    public init(threads: Int = 4, deadline: JobDeadline = .none, maximumStuckThreads: Int = 16, label: String = "userfiles") {
        pool = WorkerPool(threads: max(1, threads), deadline: deadline, maximumStuck: max(0, maximumStuckThreads), label: label)
        pool.start()
    }

    /// Lets the workers finish the jobs already queued, then end (a stuck one when it returns).
    deinit { pool.shutdown() }

    /// Runs `job` as `user` on a worker thread with the user's home open, and waits.
    /// Errors thrown by `job` are rethrown; failing to become the user or to open the home
    /// throws `SystemCallError`; a job past its deadline, or refused because the home did not
    /// answer before, throws `HomeUnresponsive`.
    public func perform<T: Sendable>(as user: UserAccount, deadline: JobDeadline? = nil,
                                     _ job: @escaping @Sendable (UserHome) throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<T, any Error> = .failure(SystemCallError("userfiles", user.description, errno: ECANCELED))
        pool.enqueue(user, deadline, job) { result in
            outcome = result
            done.signal()
        }
        done.wait()
        return try outcome.get()
    }

    /// `perform`, for async callers: suspends instead of blocking a cooperative thread.
    /// `continuing`: the job continues work of this user's that a worker just did (a regular
    /// registration's layers after its files), and goes ahead of the jobs waiting that have not
    /// started anything yet: begun work ends first, rather than waiting a second time behind
    /// every user who signed in meanwhile.
    public func perform<T: Sendable>(as user: UserAccount, deadline: JobDeadline? = nil, continuing: Bool = false,
                                     _ job: @escaping @Sendable (UserHome) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            pool.enqueue(user, deadline, job, ahead: continuing) { continuation.resume(with: $0) }
        }
    }

    /// The deadline of jobs that name none.
    public var defaultDeadline: JobDeadline { pool.defaultDeadline }

    /// How many threads serve jobs and how many are stuck in a home past a deadline.
    public var threads: ThreadCounts { pool.counts }

    /// The users with a thread stuck in their home, with how long it has been there.
    public var stuckUsers: [UInt32: Duration] { pool.stuckUsers }

    /// Calls `handler` with the uid whenever a thread stuck in that user's home returns (on
    /// that thread, after it switched back): the user's jobs are accepted again.
    public func onStuckThreadReturned(_ handler: @escaping @Sendable (UInt32) -> Void) {
        pool.setReturnHandler(handler)
    }

    /// Tells the deadline of the job running on the calling thread that it is getting on (a
    /// file copied, a directory made): a job with a `stall` limit is unresponsive only when
    /// nothing is noted for that long. Does nothing outside a job.
    public static func noteProgress() {
        CurrentJob.running?.noteProgress()
    }

    /// The threads of a pool.
    public struct ThreadCounts: Sendable, Equatable {
        /// Threads that take jobs.
        public var serving: Int
        /// Threads set aside in a home past a deadline, not returned yet.
        public var stuck: Int

        public init(serving: Int, stuck: Int) {
            self.serving = serving
            self.stuck = stuck
        }
    }

    /// How long one job may take, from when a worker starts it (waiting in the queue does not
    /// count).
    ///
    /// File work in a home (desktop entries, `mimeapps.list`) is small and bounded: a `limit`
    /// of some seconds. Restoring and pushing app data is proportional to the data, which the
    /// user decides: a `stall` limit, which a job that keeps noting progress never reaches
    /// (a million files take long but move), and a generous `limit` in all.
    public struct JobDeadline: Sendable, Equatable, CustomStringConvertible {
        /// The longest a job may run in all; nil: no limit.
        public var limit: Duration?
        /// The longest a job may go without noting progress; nil: no such limit.
        public var stall: Duration?

        public init(limit: Duration? = nil, stall: Duration? = nil) {
            self.limit = limit
            self.stall = stall
        }

        /// No deadline: the job may take as long as it takes.
        public static let none = JobDeadline()

        /// At most `limit` in all.
        public static func within(_ limit: Duration) -> JobDeadline { JobDeadline(limit: limit) }

        /// True when there is no limit of either kind.
        public var isNone: Bool { limit == nil && stall == nil }

        public var description: String {
            switch (limit, stall) {
            case (nil, nil): "no deadline"
            case (let limit?, nil): "within \(Self.describe(limit))"
            case (nil, let stall?): "no progress for \(Self.describe(stall))"
            case (let limit?, let stall?): "no progress for \(Self.describe(stall)), or \(Self.describe(limit)) in all"
            }
        }

        /// `30 s`, `1.5 s`, `250 ms`.
        static func describe(_ duration: Duration) -> String {
            let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
            if ms < 1000 { return "\(ms) ms" }
            if ms % 1000 == 0 { return "\(ms / 1000) s" }
            return "\(Double(ms) / 1000) s"
        }
    }
}

/// Work in a home that did not answer: a job past its deadline, or refused because an earlier
/// one is still stuck there. Names the user, the home and the reason.
public struct HomeUnresponsive: AppAttachError, Sendable, Equatable {
    /// Why.
    public enum Reason: Sendable, Equatable {
        /// This job ran past `deadline` (`stalled`: it stopped noting progress); its thread is
        /// still in the kernel and was set aside; `replaced` says whether a new one took its place.
        case deadlinePassed(UserFiles.JobDeadline, stalled: Bool, replaced: Bool)
        /// An earlier job of this user has been stuck for `stuckFor`: nothing more is done in
        /// the home until it returns.
        case earlierJobStuck(stuckFor: Duration)
        /// The home did not answer before, and `stuckThreads` threads are stuck in homes, the
        /// most the pool sets aside: the work is refused until one returns.
        case tooManyStuck(stuckThreads: Int)
    }

    public let user: String
    public let uid: UInt32
    public let home: String
    public let reason: Reason

    public init(user: String, uid: UInt32, home: String, reason: Reason) {
        self.user = user
        self.uid = uid
        self.home = home
        self.reason = reason
    }

    public var description: String {
        let whose = "the home of \(user) (\(home))"
        switch reason {
        case .deadlinePassed(let deadline, let stalled, let replaced):
            let what = stalled ? "made no progress for \(UserFiles.JobDeadline.describe(deadline.stall ?? .zero))"
                : "did not finish within \(UserFiles.JobDeadline.describe(deadline.limit ?? .zero))"
            return "\(whose) does not answer: a job there \(what) and has not returned (a file system that does not answer keeps it in the kernel); its worker thread is set aside"
                + (replaced ? " and replaced" : " and not replaced, as too many are stuck")
        case .earlierJobStuck(let stuckFor):
            return "\(whose) does not answer: an earlier job there has been stuck in the kernel for \(UserFiles.JobDeadline.describe(stuckFor)); nothing more is done there until it returns"
        case .tooManyStuck(let count):
            return "\(whose) did not answer before, and \(count) worker threads are stuck in homes, the most that are set aside: its work is refused until one returns"
        }
    }

    /// The `HomeUnresponsive` in `error`, or in what it carries (`HomeUnresponsiveCarrier`).
    public static func found(in error: any Error) -> HomeUnresponsive? {
        if let error = error as? HomeUnresponsive { return error }
        return (error as? HomeUnresponsiveCarrier)?.unresponsive
    }
}

/// An error of a layer above `UserFiles` that may stand for a `HomeUnresponsive`: callers
/// tell a home that does not answer from other failures through it.
public protocol HomeUnresponsiveCarrier: Error {
    /// The home that did not answer behind this error, if that was the cause.
    var unresponsive: HomeUnresponsive? { get }
}
