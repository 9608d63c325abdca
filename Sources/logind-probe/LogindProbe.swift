// logind-probe: the Systemd module end to end, as a Type=notify service in the test bed.
//
// It does what the agent's front half will do: log to journald, watch logind, decide sign-ins
// and sign-outs with SignInTracker, and speak sd_notify (READY=1 once subscribed and the users
// already signed in are decided, STATUS=, WATCHDOG=1, STOPPING=1 on SIGTERM).
// scripts/test-logind runs it as systemd/appattach-logind-probe.service and reads its journal.
import Dispatch
import Glibc
import Logging
import Systemd

@main
struct LogindProbe {
    static func main() async {
        let startedAt = ContinuousClock.now
        let destination = JournalDestination()
        // APPATTACH_LOG_LEVEL=debug shows every logind event the watcher delivers.
        let level = getenv("APPATTACH_LOG_LEVEL").flatMap { Logger.Level(rawValue: String(cString: $0)) } ?? .info
        LoggingSystem.bootstrap { label in
            var handler = JournalLogHandler(label: label, destination: destination)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "appattach-logind-probe")
        let notifier = SystemdNotifier()

        logger.info("logind probe started", metadata: AgentEvent.agentStarted.metadata)
        notifier.status("connecting to logind")

        let watcher: LogindWatcher
        do {
            watcher = try await LogindWatcher.start(logger: logger)
        } catch {
            logger.critical("cannot watch logind", error: error)
            exit(1)
        }

        // SIGTERM is systemd's stop request: STOPPING=1, then end the stream so the loop ends.
        signal(SIGTERM, SIG_IGN)
        // On the main queue: the handler is formed in main(), which runs on the main actor.
        let termination = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .main)
        termination.setEventHandler {
            notifier.stopping(status: "stopping")
            logger.info("logind probe stopping", metadata: AgentEvent.agentStopping.metadata)
            watcher.close()
        }
        termination.resume()
        let watchdog = Task { await notifier.keepWatchdogAlive() }

        var tracker = SignInTracker()
        // Users already signed in at start are decided before READY=1, like the agent's
        // reconciliation at start.
        for session in watcher.initialSessions {
            for decision in tracker.handle(.sessionAdded(session)) { record(decision, tracker, logger) }
        }
        notifier.ready(status: statusLine(tracker))
        logger.info("logind probe ready", metadata: AgentEvent.agentReady.metadata([
            "appattach.duration_usec": "\(microseconds(ContinuousClock.now - startedAt))",
            "appattach.watchdog_usec": "\(notifier.watchdogInterval.map { "\(microseconds($0))" } ?? "none")",
            "appattach.initial_sessions": "\(watcher.initialSessions.count)",
        ]))

        for await event in watcher.events {
            logger.debug("logind event", metadata: ["logind.event": "\(event)"])
            let decisions = tracker.handle(event)
            for decision in decisions { record(decision, tracker, logger) }
            if !decisions.isEmpty { notifier.status(statusLine(tracker)) }
        }
        watchdog.cancel()
        termination.cancel()
        logger.info("logind probe stopped")
    }

    static func record(_ decision: SignInDecision, _ tracker: SignInTracker, _ logger: Logger) {
        switch decision {
        case .signedIn(let uid, let name, let session):
            logger.notice("user \(name) signed in", metadata: AgentEvent.signInSeen.metadata([
                "appattach.user": "\(name)", "appattach.uid": "\(uid)", "appattach.session": "\(session)",
                "appattach.session_class": "\(tracker.sessions[session]?.sessionClass.rawValue ?? "")",
            ]))
        case .signedOut(let uid, let name, let reason):
            logger.notice("user \(name) signed out", metadata: AgentEvent.signOutSeen.metadata([
                "appattach.user": "\(name)", "appattach.uid": "\(uid)", "appattach.reason": "\(reason.rawValue)",
            ]))
        }
    }

    static func statusLine(_ tracker: SignInTracker) -> String {
        "watching logind: \(tracker.signedIn.count) users signed in"
    }

    static func microseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
