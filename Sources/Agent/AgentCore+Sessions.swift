import ControlProtocol
import LinuxSystem
import Logging
import Systemd

extension AgentCore {
    /// A deregistration to run after the grace period, unless the user signs in again first.
    struct DeregistrationTimer: Sendable {
        var uid: UInt32
        var generation: Int
        var delay: Duration
    }

    /// A `Deregister` request answered once the user's apps have ended and the deregistration
    /// is done.
    struct PendingDeregistration: Sendable {
        var connection: ControlConnection
        var wait: Bool
        var reason: String
    }

    /// Feeds a logind event to the sign-in tracker and acts on its decisions. Returns the
    /// timers to run (the loop owns them): a sign-out's grace period.
    func handle(_ event: LogindEvent) async -> [LoopTimer] {
        let takenAt = JournalClock.nowMicroseconds()
        var timers: [LoopTimer] = []
        for decision in tracker.handle(event) {
            switch decision {
            case .signedIn(let uid, let name, let session):
                timers += await signedIn(uid: uid, name: name, session: session, takenAt: takenAt)
            case .signedOut(let uid, let name, let reason):
                journal.event(.signOutSeen, "user \(name) signed out", .init(user: name, uid: uid, extra: ["appattach.reason": "\(reason.rawValue)"]))
                signInGeneration[uid, default: 0] += 1
                let timer = DeregistrationTimer(uid: uid, generation: signInGeneration[uid]!,
                                                delay: .seconds(settings.config.deregistrationGraceSeconds))
                timers.append(LoopTimer(delay: timer.delay, command: .deregistrationDue(timer)))
            }
        }
        return timers
    }

    /// A user's first counted session: register, unless a Register request (the PAM hook)
    /// already did for this sign-in, or a registration is under way. The entry carries when
    /// the watcher got the session's signal, when it had read the session, and when the loop
    /// took the event (`takenAt`), so a sign-in's latency can be split into its stages.
    func signedIn(uid: UInt32, name: String, session: String, takenAt: UInt64) async -> [LoopTimer] {
        signInGeneration[uid, default: 0] += 1
        let seen = tracker.sessions[session]
        var extra: Logger.Metadata = ["appattach.session_class": "\(seen?.sessionClass.rawValue ?? "")",
                                      "appattach.taken_at_usec": "\(takenAt)"]
        if let signalledAt = seen?.signalledAt { extra["appattach.signalled_at_usec"] = "\(signalledAt)" }
        if let readAt = seen?.readAt { extra["appattach.read_at_usec"] = "\(readAt)" }
        journal.event(.signInSeen, "user \(name) signed in", level: .info,
                      .init(user: name, uid: uid, session: session, extra: extra))
        guard registered[uid] == nil, !pendingSignIns.contains(where: { $0.uid == uid }), !registrationIsLast(uid) else { return [] }
        // Queued, so that the sign-ins read meanwhile are planned together and their homes
        // written in parallel; with no loop (a test driving the core by hand), at once.
        if let enqueue {
            pendingSignIns.append((uid, name, session))
            if !signInsQueued {
                signInsQueued = true
                enqueue(.registerSignIns)
            }
            return []
        }
        do {
            return await submit(.register(RegisterOrder(account: try Self.account(String(uid)), session: session)), uid: uid)
        } catch {
            logger.error("cannot register the packages of \(name) at sign-in: \(error)",
                         metadata: ["appattach.user": "\(name)", "appattach.uid": "\(uid)"])
            return []
        }
    }

    /// Registers every sign-in queued since the last time, together: each is planned on the
    /// loop in turn and its home written on the workers, in parallel with the others'.
    func registerQueuedSignIns() async -> [LoopTimer] {
        signInsQueued = false
        let batch = pendingSignIns
        pendingSignIns = []
        var timers: [LoopTimer] = []
        for (uid, name, session) in batch where !registrationIsLast(uid) {
            do {
                timers += await submit(.register(RegisterOrder(account: try Self.account(String(uid)), session: session)), uid: uid)
            } catch {
                logger.error("cannot register the packages of \(name) at sign-in: \(error)",
                             metadata: ["appattach.user": "\(name)", "appattach.uid": "\(uid)"])
            }
        }
        return timers
    }

    /// The host pool is in force for the first time since the agent started (the file could not
    /// be read until now: the share was away, or mid-replace): the users who signed in
    /// meanwhile, whose registration failed for want of it, are registered now, not at their next
    /// sign-in.
    func registerSignInsMissed() {
        guard let enqueue else { return }
        var missed: [String] = []
        for (uid, name) in tracker.signedIn.sorted(by: { $0.key < $1.key })
        where registered[uid] == nil && !pendingSignIns.contains(where: { $0.uid == uid }) && !registrationIsLast(uid) {
            guard let session = tracker.sessions.values.filter({ $0.uid == uid }).map(\.id).min() else { continue }
            pendingSignIns.append((uid, name, session))
            missed.append(name)
        }
        guard !missed.isEmpty else { return }
        logger.notice("host pool \(hostPool.displayName) in force now: registering \(missed.count) users who signed in without it (\(missed.joined(separator: ", ")))")
        if !signInsQueued {
            signInsQueued = true
            enqueue(.registerSignIns)
        }
    }

    /// Takes `uid` out of the queued sign-ins: something else registers or deregisters it now.
    func dropQueuedSignIn(_ uid: UInt32) {
        pendingSignIns.removeAll { $0.uid == uid }
    }

    /// The grace period after a sign-out ended: deregister unless the user came back. The
    /// deregistration waits for apps of the user's packages that still run on the loop's
    /// timers (they are stopped after `[deregistration] stop_apps_after_seconds`), and is
    /// dropped if the user signs in again meanwhile; other users' work goes on.
    func deregistrationDue(_ timer: DeregistrationTimer) async -> [LoopTimer] {
        guard signInGeneration[timer.uid] == timer.generation, tracker.countedSessions(of: timer.uid) == 0 else { return [] }
        dropQueuedSignIn(timer.uid)
        return await submit(.deregister(DeregisterOrder(uid: timer.uid, reason: "signed out",
                                                        onlyIfSignedOut: .since(generation: timer.generation))), uid: timer.uid)
    }
}
