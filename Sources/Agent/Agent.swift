import Dispatch
import Glibc
import Logging
import ProductVersion
import StateStore
import Staging
import Systemd

/// The root agent: one event loop that stages images, registers and deregisters users' apps
/// as they sign in and out, follows the host-pool file, and answers the control socket.
///
/// Start-up (before `READY=1`): open the state database, reconcile the runtime directory with
/// the kernel, take over what is staged, subscribe to logind, read the host pool and stage
/// its active packages, bind the socket. Nothing before `READY=1` touches a user's home (but
/// after a damaged state database was rebuilt, when the registrations of the users signed in
/// are read back from their homes, within `homeScanDeadline`: `recoverRegistrations`). Then
/// the loop (`AgentLoop`), whose first commands register the users already signed in,
/// deregister registrations left by users who are gone, and look for the app data of accounts
/// that no longer exist (and again once a day); `SIGTERM` sends `STOPPING=1`, stops taking
/// requests, lets the work in homes under way come back and returns.
public struct Agent: Sendable {
    public let settings: AgentSettings
    public let logger: Logger

    public init(settings: AgentSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    /// Runs until SIGTERM or SIGINT. Throws when start-up fails (systemd then sees the unit fail).
    public func run() async throws {
        let started = ContinuousClock.now
        let notifier = SystemdNotifier()
        logger.info("appattach agent \(ProductVersion.current) starting (config \(settings.configPath))", metadata: AgentEvent.agentStarted.metadata)
        notifier.status("starting: opening the state database")

        // A damaged database is moved aside and rebuilt; staging is repaired and taken over.
        let (core, damaged) = try AgentCore.open(settings: settings, logger: logger)

        notifier.status("starting: subscribing to logind")
        let watcher = try await LogindWatcher.start(logger: logger)
        defer { watcher.close() }

        if damaged != nil {
            await core.recoverRegistrations(signedIn: watcher.initialSessions.filter(\.sessionClass.countsAsSignIn).map(\.uid))
        }

        notifier.status("starting: reading the host pool and staging its packages")
        // Staged in batches, the watchdog pinged after each; what the start-up budget leaves is
        // staged from the loop after READY.
        core.stager.afterBatch = { notifier.watchdog() }
        core.refreshHostPool()
        core.stager.afterBatch = nil
        core.publishDesktopData()

        // From here the core queues its commands on the loop; no user's home is touched before
        // READY (users signed in already and leftovers are loop commands after it).
        let loop = AgentLoop(core: core, watchdogInterval: notifier.watchdogInterval)
        let input = loop.enqueue
        let server = try ControlServer(path: settings.socketPath, logger: logger) { input(.request($0)) }
        server.start()

        // SIGTERM/SIGINT become a command, so the loop finishes what is queued before it.
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let signals = [SIGTERM, SIGINT].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                notifier.stopping(status: "stopping: finishing queued work")
                // No new requests from here on; those already read are answered.
                server.stop()
                input(.shutdown)
            }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }

        // After READY, not before: the users signed in already are registered, the leftovers
        // deregistered (work in homes, which users decide the length of), and NSS looked up for
        // every uid with data, all as loop commands that wait for no home.
        core.queueStagingBatch()
        let status = StatusPublisher(notifier: notifier)
        await loop.serve(notifier: notifier, status: status, initialSessions: watcher.initialSessions, events: watcher.events, periodic: [
            (settings.hostPoolPollInterval, .checkHostPool),
            (settings.destageRetryInterval, .retryDestage),
            (settings.removedAccountSweepInterval, .sweepRemovedAccounts),
            (settings.stagingRetryInterval, .retryFailedStaging),
            (settings.metricsInterval, .writeMetrics),
            (settings.hostReportInterval, .reportHost),
        ]) {
            logger.notice("appattach agent ready: \(core.statusLine)", metadata: AgentEvent.agentReady.metadata([
                "appattach.duration_usec": "\(AgentJournal.microseconds(ContinuousClock.now - started))",
            ]))
        }
        status.flush()

        // Parked work is left to the next start; requests read before the stop but not reached
        // are told so rather than cut off.
        await loop.finish()
        // The socket's I/O thread writes the last answers; the process must not end under it.
        await server.finish(within: .seconds(2))
        logger.notice("appattach agent stopped", metadata: AgentEvent.agentStopping.metadata)
    }
}
