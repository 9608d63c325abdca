/// The methods of the agent's control socket, `io.appattach.Manager`, named the varlink way
/// (`<interface>.<Method>`), so that the messages read the same as those of systemd's own
/// varlink services.
public enum ControlMethod: String, Sendable, CaseIterable, Codable {
    /// Registers a user's packages now (root, or the user themselves).
    case register = "io.appattach.Manager.Register"
    /// Deregisters a user's packages now (root, or the user themselves, at sign-out).
    case deregister = "io.appattach.Manager.Deregister"
    /// Turns the caller's delayed registration of one package into a full one (first launch).
    case completeRegistration = "io.appattach.Manager.CompleteRegistration"
    /// What the agent has staged and registered.
    case status = "io.appattach.Manager.Status"
    /// The agent's recent events (root: all; others: their own).
    case history = "io.appattach.Manager.History"

    /// The interface every method belongs to; also the socket's file name.
    public static let interface = "io.appattach.Manager"
}

/// The error names a reply can carry, varlink style.
public enum ControlErrorName: String, Sendable, Codable {
    /// The caller may not do this (checked by its `SO_PEERCRED` uid).
    case permissionDenied = "io.appattach.Manager.PermissionDenied"
    /// NSS knows no such user.
    case noSuchUser = "io.appattach.Manager.NoSuchUser"
    /// The caller has no registration of that package.
    case notRegistered = "io.appattach.Manager.NotRegistered"
    /// A parameter is missing or malformed.
    case invalidParameter = "org.varlink.service.InvalidParameter"
    /// The method is not one of ``ControlMethod``.
    case methodNotFound = "org.varlink.service.MethodNotFound"
    /// The agent tried and failed; the message says why.
    case failed = "io.appattach.Manager.Failed"
    /// The agent is stopping and takes no more work.
    case shuttingDown = "io.appattach.Manager.ShuttingDown"
    /// The connection was refused: the caller (or all users together) has as many
    /// connections open as the agent takes, or the agent is out of descriptors. Try again.
    case tooManyConnections = "io.appattach.Manager.TooManyConnections"
    /// The request line did not arrive whole in the time the agent allows from the connection.
    case requestTimedOut = "io.appattach.Manager.RequestTimedOut"
}
