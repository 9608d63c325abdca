import Systemd

/// What the event loop acts on, one at a time, in arrival order.
enum AgentCommand: Sendable {
    /// Something logind reported.
    case logind(LogindEvent)
    /// A request on the control socket.
    case request(ControlConnection)
    /// A user's grace period after sign-out ended.
    case deregistrationDue(AgentCore.DeregistrationTimer)
    /// Time to look at the host-pool file again.
    case checkHostPool
    /// Time to try refused destages again.
    case retryDestage
    /// Time to tell systemd the loop is alive; sent by the loop itself, so a stuck loop
    /// stops the pings and the watchdog restarts the agent.
    case watchdog
    /// SIGTERM or SIGINT: finish what is queued, then stop.
    case shutdown
}
