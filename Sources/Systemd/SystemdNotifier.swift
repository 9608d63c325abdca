import CSystemd
import Glibc

/// Tells systemd how a `Type=notify` service is doing, through `sd_notify(3)`.
///
/// Every call is a no-op when the process does not run under systemd (no `NOTIFY_SOCKET` in the
/// environment), so the agent can run in a terminal or a test exactly as it runs in its unit.
/// The environment is left in place (`unset_environment` 0): the agent notifies many times over its
/// life, and a cleared `NOTIFY_SOCKET` would silence every later `STATUS=` and `WATCHDOG=1`.
public struct SystemdNotifier: Sendable {
    /// One assignment of the notification protocol (`man sd_notify`).
    public enum State: Sendable, Hashable {
        /// `READY=1`: start-up is finished; systemd starts the units ordered after this one.
        case ready
        /// `STATUS=…`: one line shown by `systemctl status`.
        case status(String)
        /// `WATCHDOG=1`: the service is alive; needed at least every `WatchdogSec=`.
        case watchdog
        /// `STOPPING=1`: shutdown has begun.
        case stopping
        /// `EXTEND_TIMEOUT_USEC=…`: the current start, stop or runtime timeout is moved to now plus
        /// this many microseconds; it has to be repeated before it runs out, like the watchdog.
        case extendTimeout(microseconds: UInt64)

        /// The `KEY=value` line sent for this state.
        public var assignment: String {
            switch self {
            case .ready: return "READY=1"
            case .status(let text):
                // The protocol separates assignments with newlines: a status must stay on one line.
                let oneLine = text.split(whereSeparator: \.isNewline).joined(separator: " ")
                return "STATUS=" + oneLine
            case .watchdog: return "WATCHDOG=1"
            case .stopping: return "STOPPING=1"
            case .extendTimeout(let usec): return "EXTEND_TIMEOUT_USEC=\(usec)"
            }
        }
    }

    /// Creates a notifier; it reads `NOTIFY_SOCKET` at every call, so it may be made early.
    public init() {}

    /// True when systemd listens for notifications from this process.
    public var isEnabled: Bool { getenv("NOTIFY_SOCKET") != nil }

    /// Sends the states in one datagram, so that for example `READY=1` and its `STATUS=` arrive
    /// together. Returns true when systemd received it, false when not under systemd or on error
    /// (a failed notification must never stop the agent; the watchdog will tell if it matters).
    ///
    /// The corresponding C function is `sd_notify`.
    @discardableResult
    public func notify(_ states: [State]) -> Bool {
        guard !states.isEmpty else { return false }
        let text = states.map(\.assignment).joined(separator: "\n")
        return sd_notify(0, text) > 0
    }

    /// `READY=1`, with an optional status line.
    @discardableResult
    public func ready(status: String? = nil) -> Bool {
        notify([.ready] + (status.map { [.status($0)] } ?? []))
    }

    /// `STATUS=…`.
    @discardableResult
    public func status(_ text: String) -> Bool { notify([.status(text)]) }

    /// `WATCHDOG=1`.
    @discardableResult
    public func watchdog() -> Bool { notify([.watchdog]) }

    /// `STOPPING=1`, with an optional status line.
    @discardableResult
    public func stopping(status: String? = nil) -> Bool {
        notify([.stopping] + (status.map { [.status($0)] } ?? []))
    }

    /// `EXTEND_TIMEOUT_USEC=…` for long destage or data-push work during start or stop.
    @discardableResult
    public func extendTimeout(by duration: Duration) -> Bool {
        notify([.extendTimeout(microseconds: duration.microseconds)])
    }

    /// The interval systemd expects `WATCHDOG=1` within (`WatchdogSec=`), or nil when the unit has
    /// no watchdog or the watchdog is meant for another process (`WATCHDOG_PID`).
    ///
    /// The corresponding C function is `sd_watchdog_enabled`.
    public var watchdogInterval: Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(clamping: usec))
    }

    /// Sends `WATCHDOG=1` at half the watchdog interval until the task is cancelled; returns at once
    /// when there is no watchdog. Half, as `man sd_watchdog_enabled` advises, leaves room for a
    /// late wake-up on a busy host.
    public func keepWatchdogAlive() async {
        guard let interval = watchdogInterval else { return }
        while !Task.isCancelled {
            watchdog()
            do { try await Task.sleep(for: interval / 2) } catch { return }
        }
    }
}

extension Duration {
    /// Whole microseconds, rounded down, never negative: the unit of every systemd time field.
    var microseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000_000 + UInt64(attoseconds / 1_000_000_000_000)
    }
}
