/// Counts of observed durations in fixed buckets, for a Prometheus histogram: each bucket
/// holds the observations above the previous bound and up to its own.
public struct LatencyHistogram: Sendable, Equatable {
    /// Upper bounds in seconds, ascending; above the last is `+Inf`.
    public let bounds: [Double]
    /// Observations per bucket (not cumulative), one per bound.
    public private(set) var counts: [Int]
    /// All observations, those above the last bound too.
    public private(set) var count = 0
    /// Their sum, in seconds.
    public private(set) var sum = 0.0

    /// Buckets for sign-in work: from 5 ms (a registration on a quiet host) to 30 s (the
    /// default bound of a sign-in's wait).
    public static let signInBounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    public init(bounds: [Double] = signInBounds) {
        precondition(!bounds.isEmpty && zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 }, "histogram bounds must ascend")
        self.bounds = bounds
        counts = Array(repeating: 0, count: bounds.count)
    }

    /// Adds one observation of `seconds` (negative ones count as 0).
    public mutating func observe(_ seconds: Double) {
        let value = max(0, seconds)
        if let index = bounds.firstIndex(where: { value <= $0 }) { counts[index] += 1 }
        count += 1
        sum += value
    }
}
