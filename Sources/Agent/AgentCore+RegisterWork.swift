import AppData
import ControlProtocol
import Foundation
import LinuxSystem
import Logging
import MSIX
import Registration
import StateStore
import Systemd

/// Registration and completion at a launch as operations of a user's lane (see
/// `AgentCore+HomeWork.swift`): planned and recorded on the loop, written in the home off it.
extension AgentCore {
    // MARK: - Registration

    /// Plans `order` on the loop and launches the writing of the home. Registrations no longer
    /// assigned are deregistered first, as an operation of their own that this one follows.
    func beginRegistration(_ order: RegisterOrder, uid: UInt32) async -> [LoopTimer] {
        var order = order
        let work: RegistrationWork
        do {
            work = try await planRegistration(order.account, session: order.session)
        } catch {
            failRegistration(order, error)
            return await laneDone(uid)
        }
        if !work.stale.isEmpty && !order.staleHandled {
            order.staleHandled = true
            updateCurrent(uid, .deregister(DeregisterOrder(uid: uid, packages: work.stale, reason: "no longer assigned", then: order)))
            return await beginCurrent(uid)
        }
        let files = userFiles, appData = appData
        let images = Set(work.plans.compactMap { stager.packages[$0.packageFullName]?.imageID })
        return await launch(uid, images: images) { .registration(work, await Self.write(work, files: files, appData: appData)) }
    }

    /// Records what writing the home did and answers the requests that wait. Files that did
    /// not get written because the home did not answer are tried again later; a layer that
    /// could not be restored for that reason marks the user, and the next launch tries again.
    func finishRegistration(_ order: RegisterOrder, _ work: RegistrationWork, _ written: RegistrationWritten) async -> [LoopTimer] {
        var order = order
        let account = order.account, uid = account.uid
        if case .failure(let error) = written.files, let unresponsive = error.unresponsive {
            for waiter in order.waiters {
                waiter.connection.fail(.failed, "\(error); tried again in the background")
                requestAnswered(account, waiter.connection, takenAt: waiter.takenAt, how: "home not answering")
            }
            order.waiters = []
            updateCurrent(uid, .register(order))
            return await retryLater(uid, user: account.name, .register, unresponsive)
        }
        let packages: [String]
        do {
            packages = try commit(work, written)
        } catch {
            // `commit` journaled it.
            failRegistration(order, error, journaled: true)
            homeAnswered(uid, user: account.name)
            return await laneDone(uid)
        }
        for item in written.leftAlone {
            logger.warning("registration for \(account.name): \(item)", metadata: ["appattach.user": "\(account.name)", "appattach.uid": "\(uid)"])
        }
        for waiter in order.waiters {
            waiter.connection.reply(UserRegistrationReply(user: account.name, uid: uid, packages: packages, done: true))
            requestAnswered(account, waiter.connection, takenAt: waiter.takenAt, how: "registered now")
        }
        if let (phase, unresponsive) = HomeWorkResult.registration(work, written).unresponsive {
            markUnresponsive(uid, user: account.name, phase, unresponsive)
        } else {
            homeAnswered(uid, user: account.name)
        }
        return await laneDone(uid)
    }

    /// A registration that cannot be done: logged, and each waiting request told why.
    func failRegistration(_ order: RegisterOrder, _ error: any Error, journaled: Bool = false) {
        let account = order.account
        if !journaled {
            logger.error("cannot register the packages of \(account.name)\(order.session == nil ? "" : " at sign-in"): \(error)",
                         metadata: ["appattach.user": "\(account.name)", "appattach.uid": "\(account.uid)"])
        }
        let (name, message) = Self.requestFailure(error)
        for waiter in order.waiters { waiter.connection.fail(name, message) }
    }

    /// The error name and message a request is answered with for `error`.
    static func requestFailure(_ error: any Error) -> (ControlErrorName, String) {
        if let error = error as? AgentRequestError { return (error.name, error.description) }
        return (.failed, "\(error)")
    }

    /// Whether the last operation in `uid`'s lane registers the user (a sign-in or a request
    /// then needs no new one), or a deregistration that a registration waits for.
    func registrationIsLast(_ uid: UInt32) -> Bool {
        switch lanes[uid].flatMap({ $0.waiting.last ?? $0.current }) {
        case .register?: true
        case .deregister(let order)? where order.then != nil: true
        default: false
        }
    }

    /// Adds `waiters` to the registration that is the last operation of `uid`'s lane, if it is.
    func joinRegistration(_ uid: UInt32, _ waiters: [RegisterWaiter]) -> Bool {
        guard var lane = lanes[uid], registrationIsLast(uid) else { return false }
        func join(_ operation: HomeOperation) -> HomeOperation {
            switch operation {
            case .register(var order): order.waiters += waiters; return .register(order)
            case .deregister(var order): order.then?.waiters += waiters; return .deregister(order)
            case .complete: return operation
            }
        }
        if let last = lane.waiting.last {
            lane.waiting[lane.waiting.count - 1] = join(last)
        } else if let current = lane.current {
            lane.current = join(current)
        }
        lanes[uid] = lane
        return true
    }

    // MARK: - Completion at a launch

    /// Checks the request on the loop and launches the layer's preparation (and the files of a
    /// delayed registration) in the home.
    func beginCompletion(_ order: CompleteOrder, uid: UInt32) async -> [LoopTimer] {
        var order = order
        let account = order.account
        let package: StagedPackageInfo, record: RegistrationRecord
        do {
            let checked = try checkCompletion(account, aumid: order.aumid)
            package = checked.0
            order.app = checked.1
            record = checked.2
        } catch {
            let (name, message) = Self.requestFailure(error)
            order.connection.fail(name, message)
            return await laneDone(uid)
        }
        order.package = package
        updateCurrent(uid, .complete(order))
        let plan = record.state == .partial
            ? RegistrationPlan(manifest: package.manifest, integration: package.integration, mode: .regular,
                               home: account.home, launcher: settings.launcher)
            : nil
        let files = userFiles, appData = appData, family = package.familyName
        return await launch(uid, images: [package.imageID]) {
            .completion(await Self.complete(account, family: family, plan: plan, files: files, appData: appData))
        }
    }

    /// The loop's checks of a `CompleteRegistration`: the app id's form, whose the app data
    /// is, the registration and the app. Returns the package, the app and the registration.
    func checkCompletion(_ account: UserAccount, aumid: String) throws -> (StagedPackageInfo, AppxManifest.Application?, RegistrationRecord) {
        let parts = try Self.appIDParts(aumid)
        // Before the registrations are read and the layer is prepared: never another account's.
        try claimAppData(for: account)
        let records = (try? database.registrations(ofUID: account.uid)) ?? []
        guard let record = records.first(where: { stager.packages[$0.packageFullName]?.familyName == parts.family }),
              let package = stager.packages[record.packageFullName] else {
            throw AgentRequestError(name: .notRegistered, description: "\(parts.family) is not registered for \(account.name)")
        }
        let app = package.manifest.applications.first { $0.id == parts.app }
        guard app != nil else {
            throw AgentRequestError(name: .invalidParameter, description: "package \(package.fullName) has no app '\(parts.app)'")
        }
        return (package, app, record)
    }

    /// `PFN!AppId` → its two parts, or an `invalidParameter` error.
    static func appIDParts(_ aumid: String) throws -> (family: String, app: String) {
        let parts = aumid.split(separator: "!", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw AgentRequestError(name: .invalidParameter, description: "'\(aumid)' is not an app id of the form PackageFamilyName!AppId")
        }
        return (parts[0], parts[1])
    }

    /// The part in the home, off the loop: the layer (the launcher mounts it next, at every
    /// launch), then the files of a delayed registration (`plan`).
    static func complete(_ account: UserAccount, family: String, plan: RegistrationPlan?, files: UserFiles,
                         appData: AppDataStore) async -> CompletionWritten {
        let started = ContinuousClock.now
        let preparation: Result<AppDataStore.Preparation, AppDataError>
        do { preparation = .success(try await appData.prepareLayerAsync(for: account, packageFamilyName: family)) } catch {
            preparation = .failure(error)
        }
        let prepared = ContinuousClock.now
        var written = CompletionWritten(preparation: preparation, preparationTime: prepared - started, files: nil, duration: .zero)
        guard case .success = preparation, let plan else { return written }
        do {
            try await Register(files: files).run([plan], for: account)
            written.files = .success(())
        } catch {
            written.files = .failure(error)
        }
        written.duration = ContinuousClock.now - prepared
        return written
    }

    /// Records the completion, journals it and answers the launch. A home that did not answer
    /// marks the user; it is not tried again, since the next launch does.
    func finishCompletion(_ order: CompleteOrder, _ written: CompletionWritten) async -> [LoopTimer] {
        let account = order.account, uid = account.uid
        guard let package = order.package else { return await laneDone(uid) }
        let unresponsive = HomeWorkResult.completion(written).unresponsive
        if let (phase, error) = unresponsive { markUnresponsive(uid, user: account.name, phase, error) }
        switch written.preparation {
        case .failure(let error):
            order.connection.fail(.failed, "\(error)")
            return await laneDone(uid)
        case .success(let preparation):
            Self.notePreparation(preparation, account, package.familyName, written.preparationTime, journal)
        }
        var completedNow = false
        if let files = written.files {
            if case .failure(let error) = files {
                journal.event(.registrationFailed, "cannot complete the registration of \(package.fullName) for \(account.name): \(error)",
                              level: .error, .init(user: account.name, uid: uid, package: package.fullName))
                order.connection.fail(.failed, "\(error)")
                return await laneDone(uid)
            }
            _ = try? database.completeRegistration(uid: uid, packageFullName: package.fullName, at: Date())
            journal.event(.registrationCompleted, "completed the registration of \(package.fullName) for \(account.name) at its first launch",
                          record: .registrationCompleted, .init(user: account.name, uid: uid, package: package.fullName,
                                                                mode: "regular", duration: written.duration))
            completedNow = true
        }
        if unresponsive == nil { homeAnswered(uid, user: account.name) }
        order.connection.reply(CompleteRegistrationReply(
            packageFullName: package.fullName, packagePath: settings.stagingPaths.packageLink(package.fullName),
            executable: order.app?.executable?.replacingOccurrences(of: "\\", with: "/"), completedNow: completedNow))
        return await laneDone(uid)
    }
}
