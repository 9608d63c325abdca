import Glibc

/// The wall clock as the journal stamps an entry's source: `CLOCK_REALTIME` in microseconds,
/// comparable with `_SOURCE_REALTIME_TIMESTAMP`, the time the kernel took the entry from its
/// sender. journald's own `__REALTIME_TIMESTAMP`/`__MONOTONIC_TIMESTAMP` are taken when journald
/// gets round to the entry, which lags by seconds when many processes log at once (a storm of
/// sign-ins): so the agent journals the moments it measures as field values taken with this clock.
public enum JournalClock {
    /// Now, in microseconds since the epoch.
    ///
    /// The corresponding C function is `clock_gettime(CLOCK_REALTIME)`.
    public static func nowMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    }
}
