import LinuxSystem

/// Logs a condition that can repeat thousands of times a second (connections refused, the
/// descriptors running out) once when it starts and once when it is over, with its count,
/// instead of once per occurrence: a flood must not flood the journal too, nor slow the
/// thread that sheds it.
struct BurstLog {
    /// One condition under way.
    struct Burst {
        var what: String
        var first: Deadline
        var last: Deadline
        var count: Int
    }

    /// How long a condition must stay away before its burst is over.
    let quiet: Duration
    private(set) var bursts: [String: Burst] = [:]

    init(quiet: Duration) { self.quiet = quiet }

    /// Counts one occurrence of `key`; true when it starts a burst (the caller logs it).
    mutating func note(_ key: String, _ what: @autoclosure () -> String, now: Deadline = .now) -> Bool {
        if bursts[key] != nil {
            bursts[key]!.count += 1
            bursts[key]!.last = now
            return false
        }
        bursts[key] = Burst(what: what(), first: now, last: now, count: 1)
        return true
    }

    /// Removes and returns the bursts over by `now`.
    mutating func ended(now: Deadline = .now) -> [Burst] {
        let over = bursts.filter { now >= $0.value.last.adding(quiet) }
        for key in over.keys { bursts[key] = nil }
        return over.values.sorted { $0.first < $1.first }
    }

    /// When the next burst under way will be over, if no occurrence comes.
    var nextEnd: Deadline? { bursts.values.map { $0.last.adding(quiet) }.min() }
}
