import Foundation
import Health
import HostPool
import LinuxSystem
import Logging
import Metrics
import ProductVersion
import Systemd

/// The host's health (`HealthBook`): every active entry of the host pool that could not be
/// staged, with its entry's policy. Journaled when the state changes (`healthChanged`), shown
/// in `STATUS=`, `appattachctl health` and the metrics file; failed entries are tried again
/// every `stagingRetryInterval` and whenever the host-pool file changes.
extension AgentCore {
    /// How the book names an entry: the same package from another image is another entry.
    static func healthKey(_ entry: PackageEntry) -> String { "\(entry.package)\u{0}\(entry.image)" }

    /// Staging `entry` failed (at start-up, from the backlog, at a sign-in or a retry).
    func stagingFailed(_ entry: PackageEntry, _ error: any Error) {
        let changed = health.failed(Self.healthKey(entry), package: "\(entry.package)", image: entry.image,
                                    policy: entry.health, reason: "\(error)")
        if changed { healthChanged() }
    }

    /// `entry` is staged: its failure, if any, is over.
    func stagingSucceeded(_ entry: PackageEntry) {
        if health.staged(Self.healthKey(entry)) { healthChanged() }
    }

    /// A host pool came into force: failures of entries it no longer has go, the others take
    /// their entries' policies now.
    func keepHealthOfActiveEntries() {
        let policies = Dictionary(activeEntries.map { (Self.healthKey($0), $0.health) }, uniquingKeysWith: { a, _ in a })
        if health.keep(only: policies) { healthChanged() }
    }

    /// Journals the new state, and writes the metrics file at once.
    func healthChanged() {
        let report = health.report
        let level: Logger.Level = switch report.state {
        case .unhealthy: .error
        case .needsAssistance: .warning
        case .healthy: .notice
        }
        let reasons = report.problems.filter { $0.health == report.state && report.state != .healthy }
            .map { "\($0.package) (\($0.image), \($0.policy.rawValue)): \($0.reason)" }
        journal.event(.healthChanged, "host health: \(report.summary)", level: level,
                      .init(extra: ["appattach.health": "\(report.state.rawValue)",
                                    "appattach.reason": "\(reasons.isEmpty ? "Every package of the host pool is staged, or failed under DoNotFail." : reasons.joined(separator: "; "))"]))
        writeMetrics()
    }

    /// Puts the failed entries of the pool in force back on the staging backlog.
    func retryFailedStaging() {
        let failed = health.failedKeys
        guard !failed.isEmpty else { return }
        let entries = activeEntries.filter { failed.contains(Self.healthKey($0)) }
        let queued = Set(stager.backlog.map(Self.healthKey))
        stager.backlog += entries.filter { !queued.contains(Self.healthKey($0)) }
        queueStagingBatch()
    }

    // MARK: - Metrics file

    /// Writes the metrics file when anything it shows changed since the last write (and its
    /// directory exists: node_exporter's package makes it). Small, root's own file, not durable.
    func writeMetrics() {
        guard let path = settings.config.metricsTextfile else { return }
        let counters = journal.metrics.snapshot
        let text = metricsText(counters)
        guard text != lastMetricsText else { return }
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        var st = stat()
        guard stat(directory.isEmpty ? "/" : directory, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            if !metricsDirectoryMissingLogged {
                metricsDirectoryMissingLogged = true
                logger.info("metrics are not written: \(directory) does not exist (install prometheus-node-exporter, or set metrics.textfile)")
            }
            return
        }
        do {
            try AtomicOutput.write(Array(text.utf8), to: path, mode: 0o644, durable: false)
            lastMetricsText = text
            metricsDirectoryMissingLogged = false
        } catch {
            logger.warning("cannot write the metrics file \(path): \(error)")
        }
    }

    /// The metrics file's text now.
    func metricsText(_ counters: AgentMetrics.Counters) -> String {
        let report = health.report
        var text = PrometheusText()
        text.family("appattach_info", .gauge, help: "The agent's version and host pool; always 1.")
        text.sample("appattach_info", [("version", ProductVersion.current), ("pool", settings.config.pool)], 1)
        text.family("appattach_health", .gauge, help: "1 for the host's health now (Healthy, NeedsAssistance, Unhealthy), 0 for the others.")
        for state in HostHealth.allCases { text.sample("appattach_health", [("state", state.rawValue)], state == report.state ? 1 : 0) }
        text.family("appattach_health_failed_packages", .gauge, help: "Active packages of the host pool not staged on this host, by their entry's health policy.")
        for policy in HealthPolicy.allCases {
            text.sample("appattach_health_failed_packages", [("policy", policy.rawValue)], Double(report.problems.filter { $0.policy == policy }.count))
        }
        text.single("appattach_host_pool_in_force", .gauge, help: "1 when a host-pool file is in force, 0 before the first good read.",
                    hostPool.definition == nil ? 0 : 1)
        text.single("appattach_active_packages", .gauge, help: "Active packages of the host pool in force.", Double(activeEntries.count))
        text.single("appattach_staged_images", .gauge, help: "Images staged on this host.", Double(stager.imageCount))
        text.single("appattach_staged_packages", .gauge, help: "Packages exposed from the staged images.", Double(stager.packages.count))
        text.single("appattach_signed_in_users", .gauge, help: "Users with a counted logind session.", Double(tracker.signedIn.count))
        text.single("appattach_registered_users", .gauge, help: "Users with packages registered.", Double(registered.count))
        text.single("appattach_unresponsive_homes", .gauge, help: "Users whose home does not answer (their work is retried).", Double(unresponsiveHomes.count))
        text.single("appattach_stage_failures_total", .counter, help: "Images that failed to stage since the agent started.", Double(counters.stageFailures))
        text.single("appattach_registrations_total", .counter, help: "Packages registered for users since the agent started.", Double(counters.registrations))
        text.histogram("appattach_signin_registration_seconds",
                       help: "Sign-ins from logind's signal to the user's registrations recorded.", counters.signInRegistration)
        text.single("appattach_data_pushes_total", .counter, help: "App data pushes into profile copies since the agent started.", Double(counters.pushes))
        text.single("appattach_data_pushed_bytes_total", .counter, help: "Bytes of app data pushed into profile copies.", Double(counters.pushedBytes))
        text.single("appattach_data_push_seconds_total", .counter, help: "Time spent pushing app data.", counters.pushSeconds)
        return text.text
    }
}
