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
        /// Registered packages (PackageFullNames) no longer assigned: deregistered first.
        var stale: [String] = []
        /// The packages whose layers are made (and restored) now: the regular ones.
        var regularFamilies: [String] { plans.filter { modes[$0.packageFullName] == .regular }.map(\.packageFamilyName) }
    }

    /// What writing a registration did, on the user's worker.
    struct RegistrationWritten: Sendable {
        var files: Result<Void, RegistrationError>
        var layers: [(packageFamilyName: String, result: Result<AppDataStore.Preparation, AppDataError>, duration: Duration)]
        var doneAt: UInt64
        /// What convergence left as it found it, and why (a `mimeapps.list` that is not a
        /// regular file, an alias name that is someone else's).
        var leftAlone: [String] = []
    }

    /// The loop's part before the files: resolves the assignments, stages what is missing,
    /// sets the gates, and finds the registrations no longer assigned (`stale`, deregistered
    /// first by `beginRegistration`).
    func planRegistration(_ account: UserAccount, session: String?) async throws -> RegistrationWork {
        let startedAt = JournalClock.nowMicroseconds()
        guard let index = hostPool.index else {
            throw AgentRequestError(name: .failed, description: "no host pool file in force (\(hostPool.problem.map { "\($0)" } ?? "not read yet"))")
        }
        // Before the uid's registrations are read and any layer is made: what another account
        // left under this uid goes, and the data is recorded as this account's.
        try claimAppData(for: account)
        // One cache of NSS answers for the assignments and the gates; both look at this user's
        // entries only (`HostPoolIndex`), whatever the size of the pool.
        var ids = IDCache(directory: stager.directory)
        let assignments = try AssignmentResolver(index: index, directory: stager.directory).assignments(forUID: account.uid, ids: &ids)
        var plans: [RegistrationPlan] = []
        var modes: [String: Registration.RegistrationMode] = [:]
        let existing = Dictionary(((try? database.registrations(ofUID: account.uid)) ?? []).map { ($0.packageFullName, $0) },
                                  uniquingKeysWith: { a, _ in a })
        for assignment in assignments {
            let package: StagedPackageInfo
            do {
                package = try stager.ensureStaged(assignment.entry)
                stagingSucceeded(assignment.entry)
            } catch {
                stagingFailed(assignment.entry, error)
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
        stager.applyGates(index, only: Set(modes.keys), ids: &ids)

        // Packages registered before but not assigned now (the host pool changed) go first.
        let assignedFamilies = Set(plans.map(\.packageFamilyName))
        let stale = existing.values.filter { record in
            !assignedFamilies.contains(stager.packages[record.packageFullName]?.familyName ?? "")
        }
        return RegistrationWork(account: account, session: session, plans: plans, modes: modes, startedAt: startedAt,
                                stale: stale.map(\.packageFullName).sorted())
    }

    /// The user's part, on a user worker: the files in the home, then the layers of the regular
    /// packages (with the user's saved app data). Touches nothing of the agent's state.
    static func write(_ work: RegistrationWork, files: UserFiles, appData: AppDataStore) async -> RegistrationWritten {
        let changes: RegistrationChanges
        do {
            changes = try await Register(files: files).run(work.plans, for: work.account)
        } catch {
            return RegistrationWritten(files: .failure(error), layers: [], doneAt: JournalClock.nowMicroseconds())
        }
        // A regular registration brings the user's saved app data back (a delayed one at the
        // first launch); the apps still start without it, so a failure is journaled, not fatal.
        let layers = await appData.prepareLayers(for: work.account, packageFamilyNames: work.regularFamilies)
        return RegistrationWritten(files: .success(()), layers: layers, doneAt: JournalClock.nowMicroseconds(),
                                   leftAlone: changes.leftAlone)
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
        // A sign-in's latency for the metrics: from logind's signal (when the agent got it)
        // to the registrations recorded; a request's registration is not a sign-in's.
        if let session {
            let signalledAt = tracker.sessions[session]?.signalledAt ?? work.startedAt
            journal.metrics.observeSignInRegistration(.microseconds(Int64(recordedAt) - Int64(signalledAt)))
        }
        for var event in events {
            event.fields.extra["appattach.recorded_at_usec"] = "\(recordedAt)"
            journal.event(.packageRegistered, event.message, event.fields)
        }
        registered[account.uid] = session
        return plans.map(\.packageFullName)
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
