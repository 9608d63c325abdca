import Dispatch
import Glibc
import Logging
import StateStore
import Staging
import Systemd

/// The root agent: one event loop that stages images, registers and deregisters users' apps
/// as they sign in and out, follows the host-pool file, and answers the control socket.
///
/// Start-up (before `READY=1`): open the state database, reconcile the runtime directory with
/// the kernel, take over what is staged, subscribe to logind, read the host pool and stage
/// its active packages, register users already signed in, deregister registrations left by
/// users who are gone, bind the socket. Then the loop, whose first command looks for the app
/// data of accounts that no longer exist (and again once a day); `SIGTERM` sends `STOPPING=1`,
/// stops taking requests, lets the queued work finish and returns.
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
        logger.info("appattach agent starting (config \(settings.configPath))", metadata: AgentEvent.agentStarted.metadata)
        notifier.status("starting: opening the state database")

        let database = try StateDatabase.open(directory: settings.config.stateDirectory)
        // The state directory is 0711 so that users reach their app data layers in users/<uid>;
        // the database (and the journal files SQLite gives its mode) stays root's alone.
        chmod(settings.config.stateDirectory + "/" + StateDatabase.fileName, 0o600)
        let core = AgentCore(settings: settings, database: database, logger: logger)
        for repair in Reconcile(paths: settings.stagingPaths).run() {
            logger.notice("reconciled: \(repair)")
        }
        core.stager.adoptStaged()

        notifier.status("starting: subscribing to logind")
        let watcher = try await LogindWatcher.start(logger: logger)
        defer { watcher.close() }

        notifier.status("starting: reading the host pool and staging its packages")
        core.refreshHostPool()
        for session in watcher.initialSessions {
            _ = await core.handle(.sessionAdded(session))
        }
        await core.deregisterLeftovers()

        let (commands, input) = AsyncStream.makeStream(of: AgentCommand.self, bufferingPolicy: .unbounded)
        core.enqueue = { input.yield($0) }
        let server = try ControlServer(path: settings.socketPath, logger: logger) { input.yield(.request($0)) }
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
                input.yield(.shutdown)
            }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }

        notifier.ready(status: core.statusLine)
        logger.notice("appattach agent ready: \(core.statusLine)", metadata: AgentEvent.agentReady.metadata([
            "appattach.duration_usec": "\(AgentJournal.microseconds(ContinuousClock.now - started))",
        ]))

        // After READY, not before: NSS look-ups of every uid with data must not hold up the start.
        input.yield(.sweepRemovedAccounts)

        // Half the watchdog interval for one command: a stuck loop is restarted well in time.
        let loopWatch = LoopWatch(limit: (notifier.watchdogInterval ?? .seconds(60)) / 2)
        let status = StatusPublisher(notifier: notifier)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in watcher.events { input.yield(.logind(event)) }
            }
            Self.every(settings.hostPoolPollInterval, in: &group) { input.yield(.checkHostPool) }
            Self.every(settings.destageRetryInterval, in: &group) { input.yield(.retryDestage) }
            Self.every(settings.removedAccountSweepInterval, in: &group) { input.yield(.sweepRemovedAccounts) }
            if let interval = notifier.watchdogInterval {
                // Half the interval, as sd_watchdog_enabled(3) advises; only while the loop is alive.
                Self.every(interval / 2, in: &group) { if loopWatch.isAlive() { notifier.watchdog() } }
                notifier.watchdog()
            }

            loop: for await command in commands {
                if case .shutdown = command { break loop }
                let timers = await loopWatch.command { await core.run(command, status: status) }
                for timer in timers {
                    group.addTask {
                        try? await Task.sleep(for: timer.delay)
                        input.yield(.deregistrationDue(timer))
                    }
                }
            }
            group.cancelAll()
        }
        status.flush()

        // Requests read before the stop but not reached are told so rather than cut off.
        core.stopping = true
        core.abandonPendingDeregistrations()
        input.finish()
        for await command in commands {
            if case .request(let connection) = command { await core.handle(connection) }
        }
        logger.notice("appattach agent stopped", metadata: AgentEvent.agentStopping.metadata)
    }

    /// Adds a child task that calls `tick` every `interval` until the group is cancelled.
    private static func every(_ interval: Duration, in group: inout TaskGroup<Void>, _ tick: @escaping @Sendable () -> Void) {
        group.addTask {
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                tick()
            }
        }
    }
}
