/// The control socket's caps and deadlines: what one client, one user and all users together
/// may hold of the agent, and for how long.
///
/// Every connection counts from `accept` until its reply is taken (or it is dropped): while it
/// sends its request, while the event loop works on it, and while it reads the answer. So the
/// per-user cap also bounds how many of a user's requests wait in the loop's queue.
public struct ControlLimits: Sendable, Equatable {
    /// Connections one uid other than root may have open at once. A connection over it is
    /// answered at once with `TooManyConnections` and closed, not queued.
    public var perUser = 16
    /// Connections all uids other than root may have open together.
    public var allUsers = 256
    /// Connections root may have open at once. Root is never counted against the users'
    /// caps: the PAM hook (root) of every sign-in gets through while users flood the socket.
    public var root = 128
    /// From `accept` to the whole request line, however it trickles in: a client that sends
    /// a byte every few seconds is dropped at this deadline.
    public var requestDeadline: Duration = .seconds(10)
    /// From the reply being handed over to the client having taken all of it: a client that
    /// never reads is dropped at this deadline.
    public var replyDeadline: Duration = .seconds(10)
    /// The longest request line.
    public var maxRequestBytes = 64 << 10
    /// The longest reply line; a bigger reply is replaced by an error that says so.
    public var maxReplyBytes = 4 << 20
    /// The listen backlog: connections the kernel holds until the server accepts them.
    public var backlog: Int32 = 1_024
    /// How long a condition (refusals of one uid, descriptors running out) must stay away
    /// before its burst counts as over and is logged with its count.
    public var burstQuiet: Duration = .seconds(10)

    public init() {}

    /// The defaults.
    public static let standard = ControlLimits()

    /// The most descriptors the socket holds at once: every connection the caps allow, the
    /// listener, the wake-up pair and the one kept in reserve for running out.
    public var descriptors: Int { allUsers + root + 4 }
}
