import Health
import Metrics
import Synchronization
import Systemd

/// The agent's counters since it started, for the metrics file: fed by the journal's events
/// (from the loop and from the workers that push app data, hence the lock) and by the loop's
/// sign-in registrations.
final class AgentMetrics: Sendable {
    struct Counters: Sendable, Equatable {
        var stageFailures = 0
        var pushes = 0
        var pushedBytes = 0
        var pushSeconds = 0.0
        var registrations = 0
        var signInRegistration = LatencyHistogram()
        /// Bumped at every change, so the file is written only when something changed.
        var generation = 0
    }

    private let counters = Mutex(Counters())

    /// What has been counted so far.
    var snapshot: Counters { counters.withLock { $0 } }

    /// Counts what `event` says (called by `AgentJournal.event` for every event).
    func count(_ event: AgentEvent, duration: Duration?, bytes: Int?) {
        counters.withLock { counters in
            switch event {
            case .imageStageFailed: counters.stageFailures += 1
            case .packageRegistered: counters.registrations += 1
            case .dataPushed, .dataConflict:
                counters.pushes += 1
                counters.pushedBytes += bytes ?? 0
                counters.pushSeconds += duration.map(Self.seconds) ?? 0
            default: return
            }
            counters.generation &+= 1
        }
    }

    /// One sign-in's registration, from logind's signal to the registrations recorded.
    func observeSignInRegistration(_ duration: Duration) {
        counters.withLock {
            $0.signInRegistration.observe(Self.seconds(duration))
            $0.generation &+= 1
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
