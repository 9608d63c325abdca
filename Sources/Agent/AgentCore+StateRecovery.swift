import Foundation
import LinuxSystem
import Logging
import Registration
import Staging
import StateStore
import Systemd

extension AgentCore {
    /// The agent's start up to logind: opens the state database (a damaged one is moved aside
    /// and a new one made, see `StateDatabase.openRecovering`), prunes its history, makes the
    /// core, repairs staging under the staging lock and takes over what is staged, which fills
    /// a new database's images and packages from the kernel's mounts and the staging records.
    /// A rebuild is journaled as `stateDatabaseRebuilt`; the registrations of the users signed
    /// in are recorded again by `recoverRegistrations` once logind has said who they are.
    static func open(settings: AgentSettings, logger: Logger) throws -> (core: AgentCore, damaged: DamagedStateDatabase?) {
        let (database, damaged) = try StateDatabase.openRecovering(directory: settings.config.stateDirectory,
                                                                   eventRetention: settings.eventRetention)
        let core = AgentCore(settings: settings, database: database, logger: logger)
        do {
            let pruned = try database.pruneEvents(settings.eventRetention)
            if pruned > 0 { logger.info("pruned \(pruned) events older than \(settings.config.keepEventsDays) days or beyond the newest \(settings.config.keepEvents)") }
        } catch {
            logger.error("cannot prune the history in the state database", error: error)
        }
        do {
            for repair in try Reconcile(paths: settings.stagingPaths, lockTimeout: settings.stagingLockTimeout).run() {
                logger.notice("reconciled: \(repair)")
            }
        } catch {
            // What is staged is taken over as it is; `appattachctl repair` can finish the job.
            logger.error("cannot repair staging at start", error: error)
        }
        core.stager.adoptStaged()
        if let damaged {
            let images = core.stager.imageCount, packages = core.stager.packages.count
            core.journal.event(.stateDatabaseRebuilt,
                               "the state database was damaged (\(damaged.reason)); it was moved aside to \(damaged.keptPath) and a new one made: \(images) staged images with \(packages) packages taken over from the kernel's mounts; the registrations of signed-in users follow from their homes",
                               level: .error, .init(extra: ["appattach.kept": "\(damaged.keptFiles.joined(separator: " "))"]),
                               error: StateDatabaseError(damaged.reason))
        }
        return (core, damaged)
    }

    /// After a damaged database was replaced: records again the registrations of the users
    /// signed in now (`uids`), from the appattach desktop entries in their homes (read as each
    /// user, on the user workers, all at once), so that registered users stay registered and
    /// are deregistered at sign-out. A home that does not answer within `homeScanDeadline` is
    /// given up (`UserFiles` sets its thread aside): that user is registered afresh after
    /// READY, as a first registration.
    /// Only packages staged now can be recorded (a registration needs its package's row).
    /// Returns the registrations recorded.
    @discardableResult
    func recoverRegistrations(signedIn uids: [UInt32]) async -> [RegistrationRecord] {
        var accounts: [UserAccount] = []
        for uid in Set(uids).sorted() {
            if case .found(let account) = Self.lookUpAccount(uid) { accounts.append(account) }
        }
        let files = userFiles, limit = settings.homeScanDeadline
        let found = await withTaskGroup(of: (UserAccount, Result<[RegisteredPackage], any Error>).self) { group in
            for account in accounts {
                group.addTask {
                    do {
                        return (account, .success(try await files.perform(as: account, deadline: .within(limit)) { try RegisteredPackage.scan($0) }))
                    } catch {
                        return (account, .failure(error))
                    }
                }
            }
            var found: [(UserAccount, Result<[RegisteredPackage], any Error>)] = []
            for await result in group { found.append(result) }
            return found
        }
        var recorded: [RegistrationRecord] = []
        let now = Date()
        for (account, result) in found.sorted(by: { $0.0.uid < $1.0.uid }) {
            let packages: [RegisteredPackage]
            do { packages = try result.get() } catch {
                logger.warning("cannot read the registrations in the home of \(account.name) after the state database was rebuilt (\(error)); the user is registered afresh",
                               error: error, metadata: ["appattach.user": "\(account.name)", "appattach.uid": "\(account.uid)"])
                continue
            }
            let records = packages.filter { stager.packages[$0.fullName] != nil }.map { package in
                RegistrationRecord(uid: account.uid, userName: account.name, packageFullName: package.fullName,
                                   mode: package.complete ? .regular : .delayed, state: package.complete ? .complete : .partial,
                                   registeredAt: now, completedAt: package.complete ? now : nil)
            }
            do {
                try database.saveRegistrations(records, events: [])
                recorded += records
            } catch {
                logger.error("cannot record the registrations of \(account.name) again", error: error)
            }
        }
        logger.notice("recorded \(recorded.count) registrations of \(Set(recorded.map(\.uid)).count) signed-in users again from their homes")
        return recorded
    }
}
