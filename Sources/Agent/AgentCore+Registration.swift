import AppData
import ControlProtocol
import Foundation
import HostPool
import LinuxSystem
import Logging
import MSIX
import Registration
import StateStore
import Staging
import Systemd

/// A request that could not be done, with the error name its reply carries.
struct AgentRequestError: Error, CustomStringConvertible {
    var name: ControlErrorName
    var description: String
}

extension AgentCore {
    /// What a registration is to write for one user, worked out on the loop.
    struct RegistrationWork: Sendable {
        var account: UserAccount
        var session: String?
        var plans: [RegistrationPlan]
        var modes: [String: Registration.RegistrationMode]
        var startedAt: UInt64
        /// The packages whose layers are made (and restored) now: the regular ones.
        var regularFamilies: [String] { plans.filter { modes[$0.packageFullName] == .regular }.map(\.packageFamilyName) }
    }

    /// What writing a registration did, on the user's worker.
    struct RegistrationWritten: Sendable {
        var files: Result<Void, RegistrationError>
        var layers: [(packageFamilyName: String, result: Result<AppDataStore.Preparation, AppDataError>, duration: Duration)]
        var doneAt: UInt64
    }

    /// Registers `account`'s assigned packages: stages what is missing, converges the home
    /// (one job for all packages), records the registrations and journals one event per
    /// package. Registrations the user has but is no longer assigned are removed.
    @discardableResult
    func register(_ account: UserAccount, session: String?) async throws -> [String] {
        let work = try await planRegistration(account, session: session)
        let written = await Self.write(work, files: userFiles, appData: appData)
        return try commit(work, written)
    }

    /// Registers several users at once (a sign-in storm): plans on the loop one after the
    /// other, writes the users' homes in parallel on the user workers, then records each.
    /// A user whose registration fails is logged; the others go on.
    func registerTogether(_ users: [(account: UserAccount, session: String?)]) async {
        var works: [RegistrationWork] = []
        for (account, session) in users {
            do { works.append(try await planRegistration(account, session: session)) } catch {
                logger.error("cannot register the packages of \(account.name) at sign-in: \(error)",
                             metadata: ["appattach.user": "\(account.name)", "appattach.uid": "\(account.uid)"])
            }
        }
        let files = userFiles, appData = appData
        let written = await withTaskGroup(of: (Int, RegistrationWritten).self) { group in
            for (index, work) in works.enumerated() {
                group.addTask { (index, await Self.write(work, files: files, appData: appData)) }
            }
            var all: [Int: RegistrationWritten] = [:]
            for await (index, result) in group { all[index] = result }
            return all
        }
        for (index, work) in works.enumerated() {
            guard let result = written[index] else { continue }
            do { try commit(work, result) } catch {
                logger.error("cannot register the packages of \(work.account.name) at sign-in: \(error)",
                             metadata: ["appattach.user": "\(work.account.name)", "appattach.uid": "\(work.account.uid)"])
            }
        }
    }

    /// The loop's part before the files: resolves the assignments, stages what is missing,
    /// sets the gates, and removes registrations no longer assigned.
    func planRegistration(_ account: UserAccount, session: String?) async throws -> RegistrationWork {
        let startedAt = JournalClock.nowMicroseconds()
        guard let definition = hostPool.definition else {
            throw AgentRequestError(name: .failed, description: "no host pool file in force (\(hostPool.problem.map { "\($0)" } ?? "not read yet"))")
        }
        // Before the uid's registrations are read and any layer is made: what another account
        // left under this uid goes, and the data is recorded as this account's.
        try claimAppData(for: account)
        let assignments = try AssignmentResolver(definition: definition).assignments(forUID: account.uid)
        var plans: [RegistrationPlan] = []
        var modes: [String: Registration.RegistrationMode] = [:]
        let existing = Dictionary(((try? database.registrations(ofUID: account.uid)) ?? []).map { ($0.packageFullName, $0) },
                                  uniquingKeysWith: { a, _ in a })
        for assignment in assignments {
            let package: StagedPackageInfo
            do {
                package = try stager.ensureStaged(assignment.entry)
            } catch {
                journal.event(.registrationFailed, "cannot register \(assignment.entry.package) for \(account.name): \(error)",
                              level: .error, .init(user: account.name, uid: account.uid, package: "\(assignment.entry.package)", session: session))
                continue
            }
            // A registration completed by a launch in this sign-in stays complete when the
            // user signs in again with a second session.
            var mode = Registration.RegistrationMode(rawValue: assignment.entry.registration.rawValue) ?? .delayed
            if existing[package.fullName]?.state == .complete { mode = .regular }
            modes[package.fullName] = mode
            plans.append(RegistrationPlan(manifest: package.manifest, integration: package.integration, mode: mode,
                                          home: account.home, launcher: settings.launcher))
        }
        stager.applyGates(definition)

        // Packages registered before but not assigned now (the host pool changed) go first.
        let assignedFamilies = Set(plans.map(\.packageFamilyName))
        let stale = existing.values.filter { record in
            !assignedFamilies.contains(stager.packages[record.packageFullName]?.familyName ?? "")
        }
        if !stale.isEmpty { try await deregister(account, packages: stale.map(\.packageFullName), reason: "no longer assigned") }
        return RegistrationWork(account: account, session: session, plans: plans, modes: modes, startedAt: startedAt)
    }

    /// The user's part, on a user worker: the files in the home, then the layers of the regular
    /// packages (with the user's saved app data). Touches nothing of the agent's state.
    static func write(_ work: RegistrationWork, files: UserFiles, appData: AppDataStore) async -> RegistrationWritten {
        do {
            try await Register(files: files).run(work.plans, for: work.account)
        } catch {
            return RegistrationWritten(files: .failure(error), layers: [], doneAt: JournalClock.nowMicroseconds())
        }
        // A regular registration brings the user's saved app data back (a delayed one at the
        // first launch); the apps still start without it, so a failure is journaled, not fatal.
        let layers = await appData.prepareLayers(for: work.account, packageFamilyNames: work.regularFamilies)
        return RegistrationWritten(files: .success(()), layers: layers, doneAt: JournalClock.nowMicroseconds())
    }

    /// The loop's part after the files: journals the layers, records the registrations in one
    /// transaction and journals one event per package.
    @discardableResult
    func commit(_ work: RegistrationWork, _ written: RegistrationWritten) throws -> [String] {
        let account = work.account, session = work.session, plans = work.plans, modes = work.modes
        if case .failure(let error) = written.files {
            journal.event(.registrationFailed, "cannot register packages for \(account.name): \(error)", level: .error,
                          .init(user: account.name, uid: account.uid, package: plans.map(\.packageFullName).joined(separator: " "), session: session))
            throw AgentRequestError(name: .failed, description: "\(error)")
        }
        // This user's own time, from planning to the last file, not the wait for others written alongside.
        let duration = Duration.microseconds(Int64(written.doneAt &- work.startedAt))
        noteLayers(account, written.layers, session: session)
        let now = Date()
        let stages: Logger.Metadata = ["appattach.started_at_usec": "\(work.startedAt)",
                                       "appattach.done_at_usec": "\(written.doneAt)"]
        // One transaction for all of the user's rows: a commit per row cost ~20 ms each under load.
        var records: [RegistrationRecord] = []
        var events: [(message: String, fields: AgentJournal.Fields)] = []
        for plan in plans {
            let mode = modes[plan.packageFullName] ?? Registration.RegistrationMode.delayed
            records.append(RegistrationRecord(uid: account.uid, userName: account.name, packageFullName: plan.packageFullName,
                                              mode: mode == .regular ? .regular : .delayed,
                                              state: mode == .regular ? .complete : .partial, registeredAt: now,
                                              completedAt: mode == .regular ? now : nil))
            events.append(("registered \(plan.packageFullName) for \(account.name) (\(mode.rawValue))",
                           .init(user: account.name, uid: account.uid, package: plan.packageFullName,
                                 session: session, mode: mode.rawValue, duration: duration, extra: stages)))
        }
        do {
            try database.saveRegistrations(records, events: events.map { journal.historyRecord(.registered, $0.message, $0.fields) })
        } catch {
            logger.error("cannot record the registrations of \(account.name)", error: error)
        }
        let recordedAt = JournalClock.nowMicroseconds()
        for var event in events {
            event.fields.extra["appattach.recorded_at_usec"] = "\(recordedAt)"
            journal.event(.packageRegistered, event.message, event.fields)
        }
        registered[account.uid] = session
        return plans.map(\.packageFullName)
    }

    /// Deregisters `packages` (PackageFullNames; nil: every one the user has) for `account`:
    /// removes the files as the user, forgets the registrations, journals each. Images
    /// nobody uses any more are then destaged.
    @discardableResult
    /// `appsEnded`: the caller has already waited for the packages' apps (a sign-out does, on
    /// the loop's timers); otherwise this waits for them in place.
    func deregister(_ account: UserAccount, packages: [String]? = nil, reason: String, appsEnded: Bool = false) async throws -> [String] {
        let started = ContinuousClock.now
        // Registrations and layers another account left under this uid are never pushed into
        // this account's home: they go first.
        try claimAppData(for: account, recording: false)
        let names = packages ?? registeredPackages(of: account.uid)
        registered[account.uid] = nil
        guard !names.isEmpty else { return [] }
        let families = familyNames(of: names)
        // The apps must have ended before their data is pushed.
        if !appsEnded { await waitForApps(of: account, families: families) }
        // A home that is gone has no files to remove and takes no push; retrying would fail
        // the same way at every start.
        if await homeIsGone(account) {
            return deregisterWithoutHome(account, names, reason: reason, duration: ContinuousClock.now - started)
        }
        do {
            try await Deregister(files: userFiles, saveAppData: appDataSaver())
                .run(.packages(families), for: account)
        } catch {
            journal.event(.registrationFailed, "cannot deregister packages for \(account.name): \(error)", level: .error,
                          .init(user: account.name, uid: account.uid, package: names.joined(separator: " ")))
            throw AgentRequestError(name: .failed, description: "\(error)")
        }
        recordDeregistration(uid: account.uid, userName: account.name, names, reason: reason, duration: ContinuousClock.now - started)
        return names
    }

    /// Forgets `uid`'s registrations of `names` with their history rows in one transaction,
    /// then journals one `packageDeregistered` per package.
    func recordDeregistration(uid: UInt32, userName: String, _ names: [String], reason: String, duration: Duration) {
        let events = names.map { name in
            ("deregistered \(name) for \(userName) (\(reason))",
             AgentJournal.Fields(user: userName, uid: uid, package: name, duration: duration))
        }
        do {
            try database.deleteRegistrations(uid: uid, packageFullNames: names,
                                             events: events.map { journal.historyRecord(.deregistered, $0.0, $0.1) })
        } catch {
            logger.error("cannot forget the registrations of \(userName)", error: error)
        }
        for (message, fields) in events { journal.event(.packageDeregistered, message, fields) }
    }

    /// The PackageFullNames registered for `uid`, from the database.
    func registeredPackages(of uid: UInt32) -> [String] {
        ((try? database.registrations(ofUID: uid)) ?? []).map(\.packageFullName)
    }

    /// The distinct PackageFamilyNames of `names` (PackageFullNames), sorted.
    func familyNames(of names: [String]) -> [String] {
        Array(Set(names.map { name in
            stager.packages[name]?.familyName ?? ((try? database.package(name))??.familyName) ?? Self.familyName(ofFullName: name)
        })).sorted()
    }

    /// Completes `account`'s delayed registration of the package of `aumid` (`PFN!AppId`):
    /// everything a regular registration writes. Returns the package and whether this call
    /// did it (false: it was complete already).
    func completeRegistration(_ account: UserAccount, aumid: String) async throws -> (StagedPackageInfo, AppxManifest.Application?, Bool) {
        let parts = aumid.split(separator: "!", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw AgentRequestError(name: .invalidParameter, description: "'\(aumid)' is not an app id of the form PackageFamilyName!AppId")
        }
        // Before the registrations are read and the layer is prepared: never another account's.
        try claimAppData(for: account)
        let records = (try? database.registrations(ofUID: account.uid)) ?? []
        guard let record = records.first(where: { stager.packages[$0.packageFullName]?.familyName == parts[0] }),
              let package = stager.packages[record.packageFullName] else {
            throw AgentRequestError(name: .notRegistered, description: "\(parts[0]) is not registered for \(account.name)")
        }
        let app = package.manifest.applications.first { $0.id == parts[1] }
        guard app != nil else {
            throw AgentRequestError(name: .invalidParameter, description: "package \(package.fullName) has no app '\(parts[1])'")
        }
        // The launcher mounts the layer next: it must exist, at every launch.
        do { try prepareAppData(account, family: parts[0]) } catch {
            throw AgentRequestError(name: .failed, description: "\(error)")
        }
        guard record.state == .partial else { return (package, app, false) }
        let started = ContinuousClock.now
        let plan = RegistrationPlan(manifest: package.manifest, integration: package.integration, mode: .regular,
                                    home: account.home, launcher: settings.launcher)
        do {
            try await Register(files: userFiles).run([plan], for: account)
        } catch {
            journal.event(.registrationFailed, "cannot complete the registration of \(package.fullName) for \(account.name): \(error)",
                          level: .error, .init(user: account.name, uid: account.uid, package: package.fullName))
            throw AgentRequestError(name: .failed, description: "\(error)")
        }
        _ = try? database.completeRegistration(uid: account.uid, packageFullName: package.fullName, at: Date())
        journal.event(.registrationCompleted, "completed the registration of \(package.fullName) for \(account.name) at its first launch",
                      record: .registrationCompleted, .init(user: account.name, uid: account.uid, package: package.fullName,
                                                            mode: "regular", duration: ContinuousClock.now - started))
        return (package, app, true)
    }

    /// `Name_Version_Arch_ResourceId_PublisherId` → `Name_PublisherId`.
    static func familyName(ofFullName fullName: String) -> String {
        let parts = fullName.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 5 else { return fullName }
        return "\(parts[0])_\(parts[4])"
    }

    /// The account of a user name or uid, or a request error naming it.
    static func account(_ user: String) throws -> UserAccount {
        do {
            guard let account = try Accounts.account(named: user) else {
                throw AgentRequestError(name: .noSuchUser, description: "no user '\(user)' is known to NSS")
            }
            return account
        } catch let error as AgentRequestError {
            throw error
        } catch {
            throw AgentRequestError(name: .failed, description: "cannot look up user '\(user)': \(error)")
        }
    }
}
