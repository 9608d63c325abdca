import Synchronization

/// Whether the event loop is alive, for the systemd watchdog: the loop marks when it starts
/// and ends each command, and the watchdog timer pings only while the loop is waiting for
/// work or has been on its current command for less than the limit.
///
/// A ping that had to wait its turn in the loop's queue would punish a long queue of quick
/// commands (fifty sign-ins at once) as if the loop were stuck, and get a working agent
/// killed; a loop that hangs in one command still stops the pings and is restarted.
final class LoopWatch: Sendable {
    private let busySince = Mutex<ContinuousClock.Instant?>(nil)
    /// How long one command may take before the loop counts as stuck.
    let limit: Duration

    init(limit: Duration) {
        self.limit = limit
    }

    /// Runs one command of the loop, marked busy meanwhile.
    func command<T>(_ body: () async throws -> T) async rethrows -> T {
        busySince.withLock { $0 = .now }
        defer { busySince.withLock { $0 = nil } }
        return try await body()
    }

    /// True when the loop is waiting for work or its current command began less than
    /// `limit` ago.
    func isAlive(at now: ContinuousClock.Instant = .now) -> Bool {
        busySince.withLock { since in since.map { now - $0 < limit } ?? true }
    }
}
