import Systemd

/// What the event loop acts on, one at a time, in arrival order. The watchdog is not among
/// them: its pings depend on the loop's progress (`LoopWatch`), not on their turn in the queue.
enum AgentCommand: Sendable {
    /// Something logind reported.
    case logind(LogindEvent)
    /// A request on the control socket.
    case request(ControlConnection)
    /// Register the sign-ins queued since the last time, together.
    case registerSignIns
    /// A user's grace period after sign-out ended.
    case deregistrationDue(AgentCore.DeregistrationTimer)
    /// Time to look at the host-pool file again.
    case checkHostPool
    /// Time to try refused destages again.
    case retryDestage
    /// Time to look for the app data and records of accounts that no longer exist.
    case sweepRemovedAccounts
    /// SIGTERM or SIGINT: finish what is queued, then stop.
    case shutdown
}
