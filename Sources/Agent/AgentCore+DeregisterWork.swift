import AppData
import ControlProtocol
import Foundation
import LinuxSystem
import Logging
import Registration
import Systemd

/// Deregistration as an operation of a user's lane (see `AgentCore+HomeWork.swift`): a
/// sign-out after its grace period, a `Deregister` request, registrations left from before a
/// start, and packages a host-pool change no longer assigns. All wait for the user's apps on
/// the loop's timers, never in place, then push the app data and remove the files off the loop.
extension AgentCore {
    /// Checks, on the loop, whether `order` is still wanted and whose it is; looks at the apps
    /// (parking the lane while they run); then launches the push and the removal in the home.
    func beginDeregistration(_ order: DeregisterOrder, uid: UInt32) async -> [LoopTimer] {
        var order = order
        if let check = order.onlyIfSignedOut, !isSignedOut(uid, check) {
            // Signed in again: the registrations stay, nothing to do.
            return await laneDone(uid)
        }
        let account: UserAccount
        switch Self.lookUpAccount(uid) {
        case .found(let found):
            account = found
        case .gone:
            // Nothing to push it into and no one to push as: the registrations are forgotten.
            let (name, packages) = deregisterGoneAccount(uid: uid, reason: order.reason)
            if order.then == nil { destageUnusedSparingHomeWork() }
            answer(order.requests, user: name, uid: uid, packages: packages)
            if let then = order.then {
                failRegistration(then, AgentRequestError(name: .noSuchUser, description: "the account of uid \(uid) no longer exists"))
            }
            return await laneDone(uid)
        case .failed(let error):
            failDeregistration(order, AgentRequestError(name: .failed, description: "cannot look up uid \(uid): \(error)"))
            return await laneDone(uid)
        }
        order.account = account
        if order.resolved == nil {
            // Registrations and layers another account left under this uid are never pushed into
            // this account's home: they go first.
            do { try claimAppData(for: account, recording: false) } catch {
                failDeregistration(order, error)
                return await laneDone(uid)
            }
            order.resolved = order.packages ?? registeredPackages(of: uid)
        }
        let names = order.resolved ?? []
        guard !names.isEmpty else {
            registered[uid] = nil
            answer(order.requests, user: account.name, uid: uid, packages: [])
            return await goOn(after: order, uid: uid)
        }
        let families = familyNames(of: names)
        // The apps must have ended before their data is pushed.
        if !order.appsEnded {
            var wait = order.appWait ?? AppWait()
            if let delay = appWaitStep(account, families: families, &wait) {
                order.appWait = wait
                updateCurrent(uid, .deregister(order))
                guard enqueue != nil else {
                    // No loop to look again later (a test driving the core by hand): here.
                    try? await Task.sleep(for: delay)
                    return await beginCurrent(uid)
                }
                return park(uid, for: delay)
            }
            order.appsEnded = true
            order.appWait = nil
        }
        updateCurrent(uid, .deregister(order))
        registered[uid] = nil
        let files = userFiles, appData = appData
        return await launch(uid) { .deregistration(await Self.deregisterHome(account, families: families, files: files, appData: appData)) }
    }

    /// Whether `uid` is signed out as `check` asks.
    func isSignedOut(_ uid: UInt32, _ check: DeregisterOrder.SignedOutCheck) -> Bool {
        guard tracker.countedSessions(of: uid) == 0 else { return false }
        if case .since(let generation) = check { return signInGeneration[uid] == generation }
        return true
    }

    /// The part in the home, off the loop: whether the home is there at all, the push of each
    /// package's layer into the profile (a failure stops here, so the layer and the
    /// registration stay for a new attempt), then the removal of the registration files.
    static func deregisterHome(_ account: UserAccount, families: [String], files: UserFiles,
                               appData: AppDataStore) async -> DeregistrationWritten {
        let started = ContinuousClock.now
        var written = DeregistrationWritten()
        let package = families.joined(separator: ", ")
        // A home that is gone has no files to remove and takes no push; retrying would fail the
        // same way at every start. Opening it is a job of its own: it may not answer either.
        do { try await files.perform(as: account) { _ in } } catch {
            if let unresponsive = HomeUnresponsive.found(in: error) {
                written.failure = RegistrationError(.deregister, package: package, user: account.name, "\(error)", cause: error)
                written.unresponsive = (.deregister, unresponsive)
                written.duration = ContinuousClock.now - started
                return written
            }
            if let error = error as? SystemCallError, error.subject == account.home, [ENOENT, ENOTDIR].contains(error.errno) {
                written.homeGone = true
                written.duration = ContinuousClock.now - started
                return written
            }
            // Any other failure (permissions, a home of someone else's) is not "gone": the
            // removal below says what it is.
        }
        for family in families {
            let pushStarted = ContinuousClock.now
            do {
                let push = try await appData.pushAsync(for: account, packageFamilyName: family)
                written.pushes.append((family, .success(push), ContinuousClock.now - pushStarted))
            } catch {
                written.pushes.append((family, .failure(error), ContinuousClock.now - pushStarted))
                written.failure = RegistrationError(.deregister, package: family, user: account.name, "cannot save app data: \(error)", cause: error)
                written.unresponsive = error.unresponsive.map { (.push, $0) }
                written.duration = ContinuousClock.now - started
                return written
            }
        }
        do { try await Deregister(files: files).run(.packages(families), for: account) } catch {
            written.failure = error
            written.unresponsive = error.unresponsive.map { (.deregister, $0) }
        }
        written.duration = ContinuousClock.now - started
        return written
    }

    /// Journals the pushes, records the deregistration, destages what nobody uses, answers the
    /// requests, and begins the registration that waited for it. A home that did not answer is
    /// tried again later.
    func finishDeregistration(_ order: DeregisterOrder, _ written: DeregistrationWritten) async -> [LoopTimer] {
        var order = order
        let uid = order.uid
        guard let account = order.account else { return await laneDone(uid) }
        let names = order.resolved ?? []
        for (family, result, duration) in written.pushes {
            if case .success(let push?) = result { Self.notePush(push, family, account, duration, journal) }
        }
        if written.homeGone {
            let done = deregisterWithoutHome(account, names, reason: order.reason, duration: written.duration)
            if order.then == nil { destageUnusedSparingHomeWork() }
            answer(order.requests, user: account.name, uid: uid, packages: done)
            return await goOn(after: order, uid: uid)
        }
        if let failure = written.failure {
            if let (phase, unresponsive) = written.unresponsive {
                for request in order.requests where request.wait {
                    request.connection.fail(.failed, "\(failure); tried again in the background")
                }
                order.requests = []
                updateCurrent(uid, .deregister(order))
                return await retryLater(uid, user: account.name, phase, unresponsive)
            }
            journal.event(.registrationFailed, "cannot deregister packages for \(account.name): \(failure)", level: .error,
                          .init(user: account.name, uid: uid, package: names.joined(separator: " ")))
            homeAnswered(uid, user: account.name)
            failDeregistration(order, AgentRequestError(name: .failed, description: "\(failure)"), journaled: true)
            return await laneDone(uid)
        }
        recordDeregistration(uid: uid, userName: account.name, names, reason: order.reason, duration: written.duration)
        if order.then == nil { destageUnusedSparingHomeWork() }
        homeAnswered(uid, user: account.name)
        answer(order.requests, user: account.name, uid: uid, packages: names)
        return await goOn(after: order, uid: uid)
    }

    /// After a deregistration: the registration that waited for it begins (not while the agent
    /// stops: whoever waits for it is told), or the lane goes on.
    private func goOn(after order: DeregisterOrder, uid: UInt32) async -> [LoopTimer] {
        guard let then = order.then else { return await laneDone(uid) }
        if stopping {
            abandon(.register(then))
            return await laneDone(uid)
        }
        updateCurrent(uid, .register(then))
        lanes[uid]?.attempts = 0
        return await beginCurrent(uid)
    }

    /// Answers the requests that wait for a deregistration that is done.
    func answer(_ requests: [PendingDeregistration], user: String, uid: UInt32, packages: [String]) {
        for request in requests where request.wait {
            request.connection.reply(UserRegistrationReply(user: user, uid: uid, packages: packages, done: true))
        }
    }

    /// A deregistration that cannot be done: logged (unless journaled already), each waiting
    /// request told why, and a registration that waited for it fails too.
    func failDeregistration(_ order: DeregisterOrder, _ error: any Error, journaled: Bool = false) {
        if !journaled {
            logger.error("cannot deregister the packages of \(order.account?.name ?? "uid \(order.uid)"): \(error)",
                         metadata: ["appattach.uid": "\(order.uid)"])
        }
        let (name, message) = Self.requestFailure(error)
        for request in order.requests where request.wait { request.connection.fail(name, message) }
        if let then = order.then { failRegistration(then, error) }
    }

    /// Adds `request` to the deregistration of every package that is the last operation of
    /// `uid`'s lane, if there is one: it goes ahead whether or not the user signs in again.
    func joinDeregistration(_ uid: UInt32, _ request: PendingDeregistration) -> Bool {
        guard var lane = lanes[uid] else { return false }
        func joined(_ operation: HomeOperation) -> HomeOperation? {
            guard case .deregister(var order) = operation, order.packages == nil, order.then == nil else { return nil }
            order.requests.append(request)
            order.onlyIfSignedOut = nil
            return .deregister(order)
        }
        if let last = lane.waiting.last {
            guard let operation = joined(last) else { return false }
            lane.waiting[lane.waiting.count - 1] = operation
        } else {
            guard let current = lane.current, let operation = joined(current) else { return false }
            lane.current = operation
        }
        lanes[uid] = lane
        return true
    }

    /// Destages the images nobody has registered, but not those an operation under way
    /// registers from (it is not recorded yet).
    func destageUnusedSparingHomeWork() {
        stager.destageUnused(keep: imagesInUseByHomeWork)
    }

    /// After a start (as a loop command, after `READY=1`): registrations of users who are not
    /// signed in are left from a crash or a stop. Each is deregistered in its user's lane, and
    /// dropped if the user signs in meanwhile.
    @discardableResult
    func deregisterLeftovers() async -> [LoopTimer] {
        var timers: [LoopTimer] = []
        for uid in (try? database.registeredUIDs()) ?? [] where tracker.countedSessions(of: uid) == 0 {
            timers += await submit(.deregister(DeregisterOrder(uid: uid, reason: "not signed in when the agent started",
                                                               onlyIfSignedOut: .now)), uid: uid)
        }
        return timers
    }
}
