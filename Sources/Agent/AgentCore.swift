import AppData
import Foundation
import HostPool
import LinuxSystem
import Logging
import Registration
import StateStore
import Staging
import Systemd

/// The agent's state and what it does, driven by the event loop one command at a time: there
/// is no locking because nothing else touches it. Registrations, the staging table, sign-ins
/// and the host pool in force all live here.
final class AgentCore {
    let settings: AgentSettings
    let database: StateDatabase
    let journal: AgentJournal
    let stager: PackageStager
    /// Where per-user file work runs, as the user.
    let userFiles: UserFiles
    /// Users' app data: the layers under `<state>/users`, the profile copies.
    let appData: AppDataStore
    /// The `<state>/users/<uid>` directories of accounts that are gone, as root.
    let removedAccounts: RemovedAccounts
    /// The purge of retired `users/<uid>` directories under way off the loop, if any
    /// (`startPurge`); each new one runs after the one before.
    var purging: Task<Void, Never>?
    /// The running apps of each package, from the cgroup tree.
    let appScopes = AppScopes()
    var hostPool: HostPoolSource
    var tracker = SignInTracker()
    /// Users registered since their sign-in (or since an explicit Register), by uid, with the
    /// logind session that signed them in, if any.
    var registered: [UInt32: String?] = [:]
    /// A counter per user, bumped at every sign-in, so a deregistration timer started at an
    /// earlier sign-out knows it is stale.
    var signInGeneration: [UInt32: Int] = [:]
    /// Sign-ins seen but not registered yet: the loop registers them together at its next
    /// `registerSignIns` command (queued once while any wait).
    var pendingSignIns: [(uid: UInt32, name: String, session: String)] = []
    var signInsQueued = false
    /// Puts a command on the loop's queue; nil before the loop runs (start-up registers at once).
    var enqueue: (@Sendable (AgentCommand) -> Void)?
    /// Signed-out users whose apps still run, with how long they have been waited for.
    var appWaits: [UInt32: AppWait] = [:]
    /// `Deregister` requests waiting for the user's apps to end, by uid.
    var pendingDeregistrations: [UInt32: [PendingDeregistration]] = [:]
    /// Set when SIGTERM arrived: requests are refused from then on.
    var stopping = false

    init(settings: AgentSettings, database: StateDatabase, logger: Logger) {
        self.settings = settings
        self.database = database
        journal = AgentJournal(logger: logger, database: database)
        userFiles = UserFiles()
        appData = AppDataStore(usersDirectory: settings.appDataUsersDirectory, files: userFiles)
        removedAccounts = RemovedAccounts(usersDirectory: settings.appDataUsersDirectory)
        stager = PackageStager(settings: settings, database: database, journal: journal)
        hostPool = HostPoolSource(share: settings.config.share.path, pool: settings.config.pool)
    }

    var logger: Logger { journal.logger }

    /// The active entries of the host pool in force (none before a first good read).
    var activeEntries: [PackageEntry] { hostPool.definition?.activePackages ?? [] }

    /// One line for `systemctl status`.
    var statusLine: String {
        let images = stager.images.count
        let users = registered.count
        let problem = hostPool.problem.map { "; host pool file refused: \($0)" } ?? ""
        return "\(activeEntries.count) active packages, \(images) images staged, \(users) users registered\(problem)"
    }

    // MARK: - Host pool

    /// Reads the host-pool file if it changed; applies a good one: stages what is new, sets
    /// the gates, destages what no active entry wants and nobody uses. Returns true on a change.
    @discardableResult
    func refreshHostPool() -> Bool {
        switch hostPool.check() {
        case .unchanged:
            return false
        case .rejected(let error):
            journal.event(.hostPoolInvalid, "host pool file refused, the last good one stays in force: \(error)",
                          level: .error, record: .hostPoolRejected,
                          .init(extra: ["appattach.file": "\(error.file)", "appattach.line": "\(error.line.map(String.init) ?? "")"]))
            return true
        case .loaded(let previous):
            let active = activeEntries
            journal.event(.hostPoolReloaded, "host pool \(hostPool.displayName) in force: \(active.count) active of \(hostPool.definition?.packages.count ?? 0) packages",
                          level: previous == nil ? .info : .notice, record: previous == nil ? nil : .hostPoolChanged)
            stageActive()
            stager.applyGates(hostPool.definition)
            if previous != nil { stager.destageUnused(keep: wantedImages()) }
            return true
        }
    }

    /// Stages the image of every active entry that is not staged yet; a failure is journaled
    /// (by the stager) and the others go on.
    func stageActive() {
        for entry in activeEntries {
            do { _ = try stager.ensureStaged(entry) } catch {
                logger.error("package \(entry.package) of the host pool is not available on this host: \(error)",
                             metadata: ["appattach.package": "\(entry.package)", "appattach.image": "\(entry.image)"])
            }
        }
    }

    /// Images that active entries name and that are staged: kept staged by a host-pool change.
    func wantedImages() -> Set<String> {
        var wanted: Set<String> = []
        for entry in activeEntries {
            let path = PackageStager.canonical(settings.imagePath(entry))
            for package in stager.packages.values where package.imagePath == path && entry.package.matches(fullName: package.fullName) {
                wanted.insert(package.imageID)
            }
        }
        return wanted
    }
}
