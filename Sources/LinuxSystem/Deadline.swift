import Glibc

/// A point in time on `CLOCK_MONOTONIC` by which something must be done: a whole exchange
/// with the agent, a request line, a reply. Monotonic, so that a clock set back or forward
/// during a sign-in neither stretches nor cuts the wait.
///
/// Plain `clock_gettime`, not `ContinuousClock`: `appattachctl` reads it at the start of
/// every sign-in and must not pull in more than the C library for it.
public struct Deadline: Sendable, Comparable, Hashable {
    /// Nanoseconds on `CLOCK_MONOTONIC`.
    public let nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    /// Now.
    public static var now: Deadline {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Deadline(nanoseconds: UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec))
    }

    /// `duration` from now (a negative duration is now).
    public static func after(_ duration: Duration) -> Deadline { now.adding(duration) }

    /// This point moved by `duration` (never before the clock's zero).
    public func adding(_ duration: Duration) -> Deadline {
        let delta = Self.nanoseconds(duration)
        if delta >= 0 { return Deadline(nanoseconds: nanoseconds &+ UInt64(delta)) }
        let back = UInt64(-delta)
        return Deadline(nanoseconds: back > nanoseconds ? 0 : nanoseconds - back)
    }

    /// How long until this point, zero once it has passed.
    public var remaining: Duration {
        let now = Deadline.now.nanoseconds
        return now >= nanoseconds ? .zero : .nanoseconds(Int64(nanoseconds - now))
    }

    /// True once this point has been reached.
    public var hasPassed: Bool { Deadline.now >= self }

    /// The `poll(2)` timeout that ends at this point: milliseconds, rounded up so that a poll
    /// never wakes just before it and spins; 0 once passed.
    public var pollTimeout: Int32 {
        let now = Deadline.now.nanoseconds
        guard nanoseconds > now else { return 0 }
        return Int32(min((nanoseconds - now + 999_999) / 1_000_000, UInt64(Int32.max)))
    }

    /// Time from `earlier` to this point, zero if `earlier` is later.
    public func since(_ earlier: Deadline) -> Duration {
        nanoseconds > earlier.nanoseconds ? .nanoseconds(Int64(nanoseconds - earlier.nanoseconds)) : .zero
    }

    public static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// `duration` in whole nanoseconds, saturating.
    public static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? Int64.min / 2 : Int64.max / 2 }
        return product + attoseconds / 1_000_000_000
    }
}

extension Duration {
    /// "2.0 s": tenths of a second, for messages, without Foundation's formatter.
    public var secondsText: String {
        let tenths = (Deadline.nanoseconds(self) + 50_000_000) / 100_000_000
        return "\(tenths / 10).\(tenths % 10) s"
    }
}
