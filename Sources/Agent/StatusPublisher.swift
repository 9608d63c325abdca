import Dispatch
import Synchronization
import Systemd

/// Sends the agent's `STATUS=` line to systemd from a queue of its own, so the event loop
/// never waits on systemd's notification socket.
///
/// During a storm of sign-ins PID 1 is busy starting user managers, the kernel's queue of its
/// notification socket fills, and `sd_notify` blocks its caller. The loop only hands over the
/// newest line; lines handed over while one is being sent are coalesced into the last of them,
/// and a line equal to the one sent before is not sent again.
final class StatusPublisher: Sendable {
    private struct State {
        var latest: String?
        var sent: String?
        var scheduled = false
    }

    private let notifier: any AgentNotifying
    private let queue = DispatchQueue(label: "appattach-status")
    private let state = Mutex(State())

    init(notifier: any AgentNotifying) {
        self.notifier = notifier
    }

    /// Publishes `line` soon; returns at once.
    func publish(_ line: String) {
        let schedule = state.withLock { state -> Bool in
            state.latest = line
            guard !state.scheduled else { return false }
            state.scheduled = true
            return true
        }
        guard schedule else { return }
        queue.async { [self] in
            let line = state.withLock { state -> String? in
                state.scheduled = false
                guard let latest = state.latest, latest != state.sent else { return nil }
                state.sent = latest
                return latest
            }
            if let line { notifier.status(line) }
        }
    }

    /// Returns when every line handed over so far is sent.
    func flush() {
        queue.sync {}
    }
}
