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
    /// Work in a user's home that a command started came back: record it, answer who waits,
    /// go on with the user's next operation.
    case homeWorkDone(HomeWorkDone)
    /// A parked operation of a user's lane is due again (`park` tells a stale timer): look at
    /// the apps again, or try a home that did not answer again.
    case homeWorkDue(uid: UInt32, park: Int)
    /// A worker thread stuck in the user's home returned: try what waits for it now.
    case homeThreadReturned(uid: UInt32)
    /// After start-up: deregister registrations of users who are not signed in (left by a
    /// crash or a stop).
    case deregisterLeftovers
    /// Time to look at the host-pool file again (read off the loop).
    case checkHostPool
    /// The look at the host-pool file came back.
    case hostPoolRead(HostPoolSource.Read)
    /// Time to try refused destages again.
    case retryDestage
    /// Time to look for the app data and records of accounts that no longer exist.
    case sweepRemovedAccounts
    /// Time to try the host pool's packages that failed to stage again (`HealthBook`).
    case retryFailedStaging
    /// Time to look whether this host's report on the share should be written.
    case reportHost
    /// Time to write the metrics file, if anything changed.
    case writeMetrics
    /// Stage the next batch of the host pool's images (`PackageStager+Backlog`).
    case stageBacklog
    /// SIGTERM or SIGINT: finish what is queued, then stop.
    case shutdown
}
