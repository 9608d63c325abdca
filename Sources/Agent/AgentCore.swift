import AppData
import Fleet
import Foundation
import Health
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
    /// The running apps of each package, from the cgroup tree (tests point it at a tree of
    /// their own before the loop runs).
    var appScopes = AppScopes()
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
    /// Puts a command on the loop's queue; nil when no loop runs (a test that drives the core
    /// by hand: home work is then awaited in place, see `launch`).
    var enqueue: (@Sendable (AgentCommand) -> Void)?
    /// Each user's home work, in order (`AgentCore+HomeWork.swift`); a user with nothing to do
    /// has no lane.
    var lanes: [UInt32: HomeLane] = [:]
    /// The last token handed to home work in flight.
    var lastToken = 0
    /// Users whose home did not answer, until a later job there finishes in time.
    var unresponsiveHomes: [UInt32: UnresponsiveHome] = [:]
    /// Set when SIGTERM arrived: requests are refused from then on.
    var stopping = false
    /// Publishes the staged packages' icons and file types for desktops, off the loop.
    let desktopData: DesktopDataPublisher
    /// `stager.packagesChanged` when the desktop data was last handed over.
    var desktopDataPublished = -1
    /// The host pool's entries that failed to stage, which make the host's health.
    var health = HealthBook()
    /// Writes this host's report to the share (nil when `share.report` is false).
    let hostReportWriter: HostReportWriter?
    /// What the last report said, and when it was handed to the writer.
    var lastHostReport: (key: HostReportKey, at: ContinuousClock.Instant)?
    /// Where the host-pool file is read, off the loop (`AgentCore+HostPoolPoll`).
    let hostPoolReader = DispatchQueue(label: "appattach.host-pool-reader")
    /// When the look at the host-pool file under way started, if one is.
    var hostPoolReadStarted: ContinuousClock.Instant?
    /// Whether the journal said that the share does not answer (said once per episode).
    var shareSilenceReported = false
    /// Runs on the reader's thread before each look at the share: tests make it wait, as a
    /// share that does not answer does (a real one cannot be made to hang on cue).
    var beforeShareRead: (@Sendable () -> Void)?
    /// The metrics file's text as last written.
    var lastMetricsText = ""
    var metricsDirectoryMissingLogged = false

    init(settings: AgentSettings, database: StateDatabase, logger: Logger) {
        self.settings = settings
        self.database = database
        journal = AgentJournal(logger: logger, database: database)
        userFiles = UserFiles(threads: settings.userFileThreads, deadline: settings.homeFileDeadline,
                              maximumStuckThreads: settings.maximumStuckThreads, label: settings.userFileThreadLabel)
        appData = AppDataStore(usersDirectory: settings.appDataUsersDirectory, files: userFiles, deadline: settings.homeDataDeadline)
        removedAccounts = RemovedAccounts(usersDirectory: settings.appDataUsersDirectory)
        stager = PackageStager(settings: settings, database: database, journal: journal)
        hostPool = HostPoolSource(share: settings.config.share.path, pool: settings.config.pool)
        desktopData = DesktopDataPublisher(SharedDesktopData(directory: settings.desktopDataDirectory), logger: logger)
        hostReportWriter = settings.config.reportToShare
            ? HostReportWriter(directory: HostReportDirectory(share: settings.config.share.path), logger: logger) : nil
        stager.entryStaged = { [unowned self] entry, error in
            if let error { stagingFailed(entry, error) } else { stagingSucceeded(entry) }
        }
    }

    /// Hands the staged packages' desktop data to its publisher when they changed since the
    /// last time (a counter compared, nothing more, when they did not).
    func publishDesktopData() {
        guard stager.packagesChanged != desktopDataPublished else { return }
        desktopDataPublished = stager.packagesChanged
        desktopData.request(DesktopDataPublisher.newestPerFamily(stager.packages.values))
    }

    var logger: Logger { journal.logger }

    /// The active entries of the host pool in force (none before a first good read).
    var activeEntries: [PackageEntry] { hostPool.index?.activeEntries ?? [] }

    /// One line for `systemctl status`.
    var statusLine: String {
        let images = stager.imageCount
        let users = registered.count
        let problem = hostPool.problem.map { "; host pool file refused: \($0)" } ?? ""
        let homes = unresponsiveHomes.isEmpty ? "" : "; \(unresponsiveHomes.count) homes not answering"
        let report = health.report
        let healthText = report.problems.isEmpty ? "" : "; \(report.summary)"
        return "\(activeEntries.count) active packages, \(images) images staged, \(users) users registered\(healthText)\(homes)\(problem)"
    }

    // MARK: - Host pool

    /// Reads the host-pool file if it changed; applies a good one: stages what is new, sets
    /// the gates, destages what no active entry wants and nobody uses. Returns true on a change.
    @discardableResult
    func refreshHostPool() -> Bool {
        applyHostPool(hostPool.reader()())
    }

    /// Applies a look at the host-pool file (`refreshHostPool`, or the loop's read off it).
    @discardableResult
    func applyHostPool(_ read: HostPoolSource.Read) -> Bool {
        switch hostPool.apply(read) {
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
            keepHealthOfActiveEntries()
            stageActive()
            stager.applyGates(hostPool.index)
            if previous != nil { stager.destageUnused(keep: wantedImages().union(imagesInUseByHomeWork)) }
            return true
        }
    }

    /// Stages the image of every active entry that is not staged yet, in batches
    /// (`PackageStager+Backlog`); a failure is logged and the others go on. Before the loop
    /// runs (start-up), batches until `startupStagingBudget` is spent; the rest, and all of it
    /// from the loop, goes by `stageBacklog` commands.
    func stageActive() {
        stager.queueStaging(activeEntries)
        if enqueue == nil {
            let deadline = ContinuousClock.now + settings.startupStagingBudget
            while ContinuousClock.now < deadline,
                  stager.stageBatch(hostPool.index, for: min(PackageStager.batchBudget, deadline - ContinuousClock.now)) {}
            return
        }
        queueStagingBatch()
    }

    /// Puts one `stageBacklog` command on the loop's queue while entries wait, unless one is there.
    func queueStagingBatch() {
        guard stager.hasBacklog, !stager.backlogQueued, let enqueue else { return }
        stager.backlogQueued = true
        enqueue(.stageBacklog)
    }

    /// The loop's `stageBacklog` command: one batch, and the next one queued behind whatever
    /// came meanwhile.
    func stageBacklogBatch() {
        stager.backlogQueued = false
        stager.stageBatch(hostPool.index)
        queueStagingBatch()
    }

    /// Images that active entries name and that are staged: kept staged by a host-pool change.
    func wantedImages() -> Set<String> {
        var wanted: Set<String> = []
        for entry in activeEntries {
            if let package = stager.stagedPackage(providing: entry) { wanted.insert(package.imageID) }
        }
        return wanted
    }
}
