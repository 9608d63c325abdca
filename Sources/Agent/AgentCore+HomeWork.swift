import ControlProtocol
import Foundation
import LinuxSystem
import Logging
import Systemd

/// Work in users' homes, which the loop starts and never waits for.
///
/// How long a job in a home takes is the user's to decide (a FIFO or a FUSE mount that never
/// answers, a layer of a million files), so no command of the loop may last as long as one:
/// the watchdog would stop being pinged and systemd would kill the agent. An operation
/// (`HomeOperation`) is begun by a command, which does the loop's part (planning, checks) and
/// launches the part in the home as a task that awaits the `UserFiles` workers; the command
/// returns at once. The result comes back as a `homeWorkDone` command, which records it (state
/// database, journal), answers whoever waits (the PAM hook's `Register`, `appattachctl
/// deregister`, `launch`), and begins the user's next operation.
///
/// One user's operations run in order, one at a time, in the user's lane; different users'
/// run side by side (the workers write several homes at once). An operation may also be
/// parked in its lane: a deregistration while the user's apps still run (looked at again on
/// the loop's timers), or work whose home did not answer (tried again after a back-off, or as
/// soon as the stuck thread returns).
extension AgentCore {
    // MARK: - The lanes

    /// Hands `operation` to `uid`'s lane: begun now when nothing is under way for the user,
    /// otherwise after what is before it.
    func submit(_ operation: HomeOperation, uid: UInt32) async -> [LoopTimer] {
        if lanes[uid]?.current != nil {
            lanes[uid]!.waiting.append(operation)
            return []
        }
        lanes[uid] = HomeLane(current: operation)
        return await beginCurrent(uid)
    }

    /// Begins (or goes on with, after a park) the current operation of `uid`'s lane.
    func beginCurrent(_ uid: UInt32) async -> [LoopTimer] {
        guard let operation = lanes[uid]?.current else { return [] }
        switch operation {
        case .register(let order): return await beginRegistration(order, uid: uid)
        case .complete(let order): return await beginCompletion(order, uid: uid)
        case .deregister(let order): return await beginDeregistration(order, uid: uid)
        }
    }

    /// Replaces the current operation of `uid`'s lane (its order changed on the loop).
    func updateCurrent(_ uid: UInt32, _ operation: HomeOperation) {
        lanes[uid]?.current = operation
    }

    /// Launches `work` (the part in the home) without waiting for it: its result comes back as
    /// a `homeWorkDone` command. `images`: what the operation registers from, kept staged
    /// meanwhile. With no loop (a test driving the core by hand) the work is awaited in place.
    func launch(_ uid: UInt32, images: Set<String> = [], _ work: @escaping @Sendable () async -> HomeWorkResult) async -> [LoopTimer] {
        lastToken += 1
        let token = lastToken
        lanes[uid]?.token = token
        lanes[uid]?.images = images
        guard let enqueue else {
            return await finishHomeWork(HomeWorkDone(uid: uid, token: token, result: await work()))
        }
        Task { enqueue(.homeWorkDone(HomeWorkDone(uid: uid, token: token, result: await work()))) }
        return []
    }

    /// The `homeWorkDone` command: the result of a launched job is recorded and answered.
    func finishHomeWork(_ done: HomeWorkDone) async -> [LoopTimer] {
        guard let lane = lanes[done.uid], lane.token == done.token, let operation = lane.current else {
            logger.warning("work in the home of uid \(done.uid) came back for an operation no longer under way; dropped",
                           metadata: ["appattach.uid": "\(done.uid)"])
            return []
        }
        lanes[done.uid]!.token = nil
        switch (operation, done.result) {
        case (.register(let order), .registration(let work, let written)):
            return await finishRegistration(order, work, written)
        case (.complete(let order), .completion(let written)):
            return await finishCompletion(order, written)
        case (.deregister(let order), .deregistration(let written)):
            return await finishDeregistration(order, written)
        default:
            logger.error("work in the home of uid \(done.uid) came back with the result of another operation than its \(operation.name); dropped")
            return await laneDone(done.uid)
        }
    }

    /// The current operation of `uid`'s lane is over: the next one begins (none while stopping).
    func laneDone(_ uid: UInt32) async -> [LoopTimer] {
        guard var lane = lanes[uid] else { return [] }
        guard !lane.waiting.isEmpty, !stopping else {
            lane.waiting.forEach(abandon)
            lanes[uid] = nil
            return []
        }
        lane.current = lane.waiting.removeFirst()
        lane.token = nil
        lane.attempts = 0
        lane.images = []
        lanes[uid] = lane
        return await beginCurrent(uid)
    }

    /// Parks the current operation of `uid`'s lane for `delay`: a `homeWorkDue` command
    /// begins it again.
    func park(_ uid: UInt32, for delay: Duration) -> [LoopTimer] {
        lastToken += 1
        lanes[uid]?.park = lastToken
        lanes[uid]?.token = nil
        return [LoopTimer(delay: delay, command: .homeWorkDue(uid: uid, park: lastToken))]
    }

    /// The `homeWorkDue` command: a park is over, unless the lane moved on since.
    func homeWorkDue(_ uid: UInt32, park: Int) async -> [LoopTimer] {
        guard let lane = lanes[uid], lane.current != nil, lane.token == nil, lane.park == park else { return [] }
        return await beginCurrent(uid)
    }

    /// The `homeThreadReturned` command: work set aside for a home that did not answer is
    /// tried at once (the thread that was stuck there came back).
    func homeThreadReturned(_ uid: UInt32) async -> [LoopTimer] {
        guard let lane = lanes[uid], lane.current != nil, lane.token == nil, lane.attempts > 0 else { return [] }
        return await beginCurrent(uid)
    }

    /// Images that operations under way register from: kept staged until they are recorded.
    var imagesInUseByHomeWork: Set<String> { Set(lanes.values.flatMap(\.images)) }

    /// Whether a job in a home is in flight (launched, its result not back yet).
    var homeWorkInFlight: Bool { lanes.values.contains { $0.token != nil } }

    // MARK: - Homes that do not answer

    /// The current operation of `uid`'s lane met a home that did not answer: the user is
    /// marked, and the operation is tried again after a back-off (10 s, doubled each time up
    /// to `homeRetryMaximum`) or when the stuck thread returns. Without a loop, or while
    /// stopping, it is not tried again.
    func retryLater(_ uid: UInt32, user: String, _ phase: HomePhase, _ error: HomeUnresponsive) async -> [LoopTimer] {
        markUnresponsive(uid, user: user, phase, error)
        guard enqueue != nil, !stopping, let lane = lanes[uid], let operation = lane.current else {
            logger.error("the \(lanes[uid]?.current?.name ?? "work") in the home of \(user) is not tried again: the agent \(stopping ? "is stopping" : "runs no loop")",
                         metadata: ["appattach.user": "\(user)", "appattach.uid": "\(uid)"])
            return await laneDone(uid)
        }
        let attempts = lane.attempts + 1
        lanes[uid]!.attempts = attempts
        var delay = settings.homeRetryDelay
        for _ in 1..<attempts where delay < settings.homeRetryMaximum { delay *= 2 }
        delay = min(delay, settings.homeRetryMaximum)
        unresponsiveHomes[uid]?.nextAttempt = Date().addingTimeInterval(Self.seconds(delay))
        logger.notice("the \(operation.name) in the home of \(user) is tried again in \(delay) (attempt \(attempts + 1)); the user's later work waits for it",
                      metadata: ["appattach.user": "\(user)", "appattach.uid": "\(uid)", "appattach.phase": "\(phase.rawValue)"])
        return park(uid, for: delay)
    }

    /// Marks `uid`'s home as not answering; journals `homeUnresponsive` at the first time of
    /// an episode (which a job there that finishes in time ends).
    func markUnresponsive(_ uid: UInt32, user: String, _ phase: HomePhase, _ error: HomeUnresponsive) {
        let first = unresponsiveHomes[uid] == nil
        unresponsiveHomes[uid] = UnresponsiveHome(user: user, uid: uid, phase: phase, since: unresponsiveHomes[uid]?.since ?? Date(),
                                                  reason: "\(error)", nextAttempt: nil)
        guard first else { return }
        journal.event(.homeUnresponsive,
                      "the home of \(user) does not answer (\(phase.rawValue)): the work there is set aside; other users go on",
                      level: .warning, .init(user: user, uid: uid, extra: ["appattach.phase": "\(phase.rawValue)"]), error: error)
    }

    /// A job in `uid`'s home finished in time: an episode of not answering is over.
    func homeAnswered(_ uid: UInt32, user: String) {
        guard let episode = unresponsiveHomes.removeValue(forKey: uid) else { return }
        logger.notice("the home of \(user) answers again (it did not since \(episode.since), at \(episode.phase.rawValue))",
                      metadata: ["appattach.user": "\(user)", "appattach.uid": "\(uid)", "appattach.phase": "\(episode.phase.rawValue)"])
    }

    /// Tells a request of a user whose home did not answer, and whose lane waits to try
    /// again, at once and why, rather than keeping it waiting behind the attempt (a sign-in the
    /// PAM hook holds goes on). Returns true when it did; `then` says what happens meanwhile.
    func refuseWhileUnresponsive(_ uid: UInt32, _ connection: ControlConnection, then: String) -> Bool {
        guard let episode = unresponsiveHomes[uid], let lane = lanes[uid], lane.attempts > 0, lane.token == nil else { return false }
        let since = ISO8601DateFormatter().string(from: episode.since)
        connection.fail(.failed, "the home of \(episode.user) does not answer (\(episode.phase.rawValue), since \(since)): \(episode.reason); \(then)")
        return true
    }

    static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    // MARK: - Stopping

    /// At the stop: operations parked or waiting are left (the next start deregisters what is
    /// left over), and whoever waits for them is told so.
    func abandonHomeWork() {
        for lane in lanes.values {
            lane.current.map(abandon)
            lane.waiting.forEach(abandon)
        }
        lanes = [:]
    }

    /// Tells whoever waits for `operation` that the agent stops.
    func abandon(_ operation: HomeOperation) {
        let message = "the appattach agent is stopping"
        switch operation {
        case .register(let order):
            for waiter in order.waiters { waiter.connection.fail(.shuttingDown, message) }
        case .complete(let order):
            order.connection.fail(.shuttingDown, message)
        case .deregister(let order):
            for request in order.requests where request.wait { request.connection.fail(.shuttingDown, message) }
            for waiter in order.then?.waiters ?? [] { waiter.connection.fail(.shuttingDown, message) }
        }
    }
}
