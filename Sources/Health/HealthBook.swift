import Foundation

/// The agent's book of host-pool packages it could not stage, by entry: a failure is written
/// when staging an entry fails, struck out when the entry stages or leaves the pool, and the
/// host's health is read from what is written.
public struct HealthBook: Sendable, Equatable {
    private var problems: [String: HealthReport.Problem] = [:]

    public init() {}

    /// The host's health now.
    public var report: HealthReport { HealthReport(problems: Array(problems.values)) }

    /// The entries that failed, by key, for trying them again.
    public var failedKeys: Set<String> { Set(problems.keys) }

    /// Writes that the entry `key` failed. A failure seen before keeps its first time; its
    /// reason is the latest. Returns whether the host's state changed.
    @discardableResult
    public mutating func failed(_ key: String, package: String, image: String, policy: HealthPolicy, reason: String,
                                at now: Date = Date()) -> Bool {
        let before = report.state
        let since = problems[key]?.since ?? now
        problems[key] = HealthReport.Problem(package: package, image: image, policy: policy, reason: reason, since: since)
        return report.state != before
    }

    /// Strikes out the failure of `key` (the entry staged). Returns whether the state changed.
    @discardableResult
    public mutating func staged(_ key: String) -> Bool {
        guard problems[key] != nil else { return false }
        let before = report.state
        problems[key] = nil
        return report.state != before
    }

    /// Keeps the failures of `keys` only (the active entries of a newly loaded host pool), with
    /// the policy each entry has now. Returns whether the state changed.
    @discardableResult
    public mutating func keep(only policies: [String: HealthPolicy]) -> Bool {
        let before = report.state
        problems = problems.filter { policies[$0.key] != nil }
        for (key, policy) in policies where problems[key] != nil { problems[key]?.policy = policy }
        return report.state != before
    }

    /// Whether `key` is written as failed.
    public func hasFailed(_ key: String) -> Bool { problems[key] != nil }
}
