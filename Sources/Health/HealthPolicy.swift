/// What a host reports about itself when staging a package fails (AVD's
/// `FailHealthCheckOnStagingFailure`), set per entry of the host-pool file.
public enum HealthPolicy: String, Sendable, Equatable, CaseIterable, Codable {
    /// The host is reported unhealthy, so brokers stop sending new sessions to it.
    case unhealthy = "Unhealthy"
    /// The host keeps taking sessions but is flagged for an admin to look at.
    case needsAssistance = "NeedsAssistance"
    /// The failure is logged only.
    case doNotFail = "DoNotFail"
}
