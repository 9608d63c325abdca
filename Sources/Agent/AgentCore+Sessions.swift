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
        /// A `Deregister` request waiting for the user's apps, not a sign-out: it goes ahead
        /// whether or not the user signed in again.
        var requested = false
    }

    /// A `Deregister` request answered once the user's apps have ended.
    struct PendingDeregistration: Sendable {
        var connection: ControlConnection
        var wait: Bool
        var reason: String
    }

    /// Feeds a logind event to the sign-in tracker and acts on its decisions. Returns the
    /// deregistrations to schedule (the loop owns the timers).
    func handle(_ event: LogindEvent) async -> [DeregistrationTimer] {
        let takenAt = JournalClock.nowMicroseconds()
        var timers: [DeregistrationTimer] = []
        for decision in tracker.handle(event) {
            switch decision {
            case .signedIn(let uid, let name, let session):
                await signedIn(uid: uid, name: name, session: session, takenAt: takenAt)
            case .signedOut(let uid, let name, let reason):
                journal.event(.signOutSeen, "user \(name) signed out", .init(user: name, uid: uid, extra: ["appattach.reason": "\(reason.rawValue)"]))
                signInGeneration[uid, default: 0] += 1
                timers.append(DeregistrationTimer(uid: uid, generation: signInGeneration[uid]!,
                                                  delay: .seconds(settings.config.deregistrationGraceSeconds)))
            }
        }
        return timers
    }

    /// A user's first counted session: register, unless a Register request (the PAM hook)
    /// already did for this sign-in. The entry carries when the watcher got the session's
    /// signal, when it had read the session, and when the loop took the event (`takenAt`), so
    /// a sign-in's latency can be split into its stages.
    func signedIn(uid: UInt32, name: String, session: String, takenAt: UInt64) async {
        signInGeneration[uid, default: 0] += 1
        let seen = tracker.sessions[session]
        var extra: Logger.Metadata = ["appattach.session_class": "\(seen?.sessionClass.rawValue ?? "")",
                                      "appattach.taken_at_usec": "\(takenAt)"]
        if let signalledAt = seen?.signalledAt { extra["appattach.signalled_at_usec"] = "\(signalledAt)" }
        if let readAt = seen?.readAt { extra["appattach.read_at_usec"] = "\(readAt)" }
        journal.event(.signInSeen, "user \(name) signed in", level: .info,
                      .init(user: name, uid: uid, session: session, extra: extra))
        guard registered[uid] == nil, !pendingSignIns.contains(where: { $0.uid == uid }) else { return }
        // In the loop: queued, so that the sign-ins read meanwhile are registered together
        // (their homes written in parallel); at start-up, before the loop: at once.
        if let enqueue {
            pendingSignIns.append((uid, name, session))
            if !signInsQueued {
                signInsQueued = true
                enqueue(.registerSignIns)
            }
            return
        }
        do {
            let account = try Self.account(String(uid))
            try await register(account, session: session)
        } catch {
            logger.error("cannot register the packages of \(name) at sign-in: \(error)",
                         metadata: ["appattach.user": "\(name)", "appattach.uid": "\(uid)"])
        }
    }

    /// Registers every sign-in queued since the last time, together.
    func registerQueuedSignIns() async {
        signInsQueued = false
        let batch = pendingSignIns
        pendingSignIns = []
        var users: [(account: UserAccount, session: String?)] = []
        for (uid, name, session) in batch {
            do { users.append((try Self.account(String(uid)), session)) } catch {
                logger.error("cannot register the packages of \(name) at sign-in: \(error)",
                             metadata: ["appattach.user": "\(name)", "appattach.uid": "\(uid)"])
            }
        }
        await registerTogether(users)
    }

    /// Takes `uid` out of the queued sign-ins: something else registers or deregisters it now.
    func dropQueuedSignIn(_ uid: UInt32) {
        pendingSignIns.removeAll { $0.uid == uid }
    }

    /// The grace period after a sign-out ended: deregister unless the user came back. While
    /// apps of the user's packages still run, it returns a timer to look again instead of
    /// waiting (they are stopped after `[deregistration] stop_apps_after_seconds`), so other
    /// users' sign-ins and requests go on meanwhile.
    func deregistrationDue(_ timer: DeregistrationTimer) async -> [DeregistrationTimer] {
        if timer.requested { return await requestedDeregistrationDue(timer) }
        guard signInGeneration[timer.uid] == timer.generation, tracker.countedSessions(of: timer.uid) == 0 else {
            appWaits[timer.uid] = nil
            return []
        }
        dropQueuedSignIn(timer.uid)
        let account: UserAccount
        switch Self.lookUpAccount(timer.uid) {
        case .found(let found):
            account = found
        case .gone:
            // Nothing to push it into and no one to push as: the registrations are forgotten.
            appWaits[timer.uid] = nil
            deregisterGoneAccount(uid: timer.uid, reason: "signed out")
            stager.destageUnused()
            return []
        case .failed(let error):
            logger.error("cannot deregister the packages of uid \(timer.uid): cannot look up the account: \(error)",
                         metadata: ["appattach.uid": "\(timer.uid)"])
            return []
        }
        var wait = appWaits[timer.uid] ?? AppWait()
        if let delay = appWaitStep(account, families: familyNames(of: registeredPackages(of: timer.uid)), &wait) {
            appWaits[timer.uid] = wait
            return [DeregistrationTimer(uid: timer.uid, generation: timer.generation, delay: delay)]
        }
        appWaits[timer.uid] = nil
        await deregisterQuietly(uid: timer.uid, reason: "signed out", appsEnded: true)
        stager.destageUnused()
        return []
    }

    /// Another look at the apps of a user whose `Deregister` requests wait for them.
    private func requestedDeregistrationDue(_ timer: DeregistrationTimer) async -> [DeregistrationTimer] {
        guard let requests = pendingDeregistrations[timer.uid], !requests.isEmpty else { return [] }
        let account: UserAccount
        switch Self.lookUpAccount(timer.uid) {
        case .found(let found):
            account = found
        case .gone:
            // Removed while its apps were waited for: done without a home, and said so.
            appWaits[timer.uid] = nil
            pendingDeregistrations[timer.uid] = nil
            let (name, packages) = deregisterGoneAccount(uid: timer.uid, reason: requests.first?.reason ?? "asked")
            stager.destageUnused()
            for request in requests where request.wait {
                request.connection.reply(UserRegistrationReply(user: name, uid: timer.uid, packages: packages, done: true))
            }
            return []
        case .failed(let error):
            pendingDeregistrations[timer.uid] = nil
            for request in requests where request.wait { request.connection.fail(.failed, "cannot look up uid \(timer.uid): \(error)") }
            return []
        }
        var wait = appWaits[timer.uid] ?? AppWait()
        if let delay = appWaitStep(account, families: familyNames(of: registeredPackages(of: timer.uid)), &wait) {
            appWaits[timer.uid] = wait
            var again = timer
            again.delay = delay
            return [again]
        }
        appWaits[timer.uid] = nil
        pendingDeregistrations[timer.uid] = nil
        await finishDeregistration(account, requests)
        return []
    }

    /// Deregisters every package of `uid`, logging instead of throwing (nobody waits for it).
    /// An account NSS no longer knows is deregistered without a home (`deregisterGoneAccount`).
    func deregisterQuietly(uid: UInt32, reason: String, appsEnded: Bool = false) async {
        switch Self.lookUpAccount(uid) {
        case .found(let account):
            do { try await deregister(account, reason: reason, appsEnded: appsEnded) } catch {
                logger.error("cannot deregister the packages of \(account.name): \(error)",
                             metadata: ["appattach.user": "\(account.name)", "appattach.uid": "\(uid)"])
            }
        case .gone:
            deregisterGoneAccount(uid: uid, reason: reason)
        case .failed(let error):
            logger.error("cannot deregister the packages of uid \(uid): cannot look up the account: \(error)",
                         metadata: ["appattach.uid": "\(uid)"])
        }
    }

    /// After a crash or a stop, the database may hold registrations of users who are gone:
    /// deregister those, so nothing is left in a home that nobody uses.
    func deregisterLeftovers() async {
        for uid in (try? database.registeredUIDs()) ?? [] where tracker.countedSessions(of: uid) == 0 {
            await deregisterQuietly(uid: uid, reason: "not signed in when the agent started")
        }
    }
}
