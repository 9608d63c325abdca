import Systemd

/// What the agent tells its service manager: `READY=1`, `STATUS=` lines and `WATCHDOG=1`.
/// systemd's notifier in the agent; a recorder in tests, which run the real loop without
/// systemd and watch its pings.
protocol AgentNotifying: Sendable {
    /// The interval systemd expects `WATCHDOG=1` within, or nil without a watchdog.
    var watchdogInterval: Duration? { get }
    @discardableResult func ready(status: String?) -> Bool
    @discardableResult func status(_ text: String) -> Bool
    @discardableResult func watchdog() -> Bool
}

extension SystemdNotifier: AgentNotifying {}
