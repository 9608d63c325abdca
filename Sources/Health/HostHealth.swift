/// How a session host stands, as a session broker or load balancer reads it: the worst that
/// the policies of the packages it failed to stage make it.
public enum HostHealth: String, Sendable, Equatable, CaseIterable, Codable, Comparable {
    /// Every active package is staged, or those that are not say `DoNotFail`.
    case healthy = "Healthy"
    /// A package whose entry says `NeedsAssistance` failed: keep serving, an admin should look.
    case needsAssistance = "NeedsAssistance"
    /// A package whose entry says `Unhealthy` failed: send no new sessions here.
    case unhealthy = "Unhealthy"

    /// The exit status of `appattachctl health`: 0, 1 or 2, as a probe script reads it.
    public var exitStatus: Int32 {
        switch self {
        case .healthy: 0
        case .needsAssistance: 1
        case .unhealthy: 2
        }
    }

    /// What a failure under `policy` makes of a host.
    public init(failureUnder policy: HealthPolicy) {
        switch policy {
        case .unhealthy: self = .unhealthy
        case .needsAssistance: self = .needsAssistance
        case .doNotFail: self = .healthy
        }
    }

    private var rank: Int {
        switch self {
        case .healthy: 0
        case .needsAssistance: 1
        case .unhealthy: 2
        }
    }

    public static func < (a: HostHealth, b: HostHealth) -> Bool { a.rank < b.rank }
}
