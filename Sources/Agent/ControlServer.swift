import ControlProtocol
import Foundation
import LinuxSystem
import Logging
import Synchronization

/// The agent's control socket: accepts connections, reads each one's request line, hands it
/// to the event loop, and writes the loop's reply.
///
/// One thread does all of that for every connection with `poll(2)` (``ControlIOLoop``), never
/// the cooperative pool that runs the loop, and no call on it waits for a client: every
/// socket is non-blocking. A client has ``ControlLimits/requestDeadline`` from `accept` to
/// its whole request line and ``ControlLimits/replyDeadline`` to take its reply; a uid, the
/// users together, and root each have a cap of open connections, and root is never counted
/// against the users'. Over a cap, or out of descriptors, a connection is answered at once
/// with `TooManyConnections` and closed rather than left in the backlog.
public final class ControlServer: Sendable {
    private let listener: UnixListener
    private let outbox: ControlOutbox
    private let limits: ControlLimits
    private let logger: Logger
    private let deliver: @Sendable (ControlConnection) -> Void
    private let started = Atomic<Bool>(false)
    private let state = Mutex(ControlSocketCounts())

    /// Binds the socket at `path`, mode 0666: anyone may connect, and every method checks
    /// the caller's uid itself.
    public init(path: String, limits: ControlLimits = .standard, logger: Logger,
                deliver: @escaping @Sendable (ControlConnection) -> Void) throws {
        outbox = try ControlOutbox(maxReplyBytes: limits.maxReplyBytes)
        listener = try UnixListener(path: path, mode: 0o666, backlog: limits.backlog, nonBlocking: true)
        self.limits = limits
        self.logger = logger
        self.deliver = deliver
    }

    /// The I/O thread's name, as `top -H` and /proc show it.
    public static let threadName = "appattach-sock"

    /// Starts the I/O thread (once).
    public func start() {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let thread = Thread { [self] in
            ThreadName.set(Self.threadName)
            // Made on its thread, and never leaves it.
            ControlIOLoop(listener: listener, outbox: outbox, limits: limits, logger: logger, deliver: deliver) { counts in
                self.state.withLock { $0 = counts }
            }.run()
        }
        thread.start()
    }

    /// Stops accepting and removes the socket's path; connections that have not sent their
    /// whole request are told so and closed; requests already delivered are still answered.
    public func stop() { outbox.stop() }

    /// Stops, then waits until every reply has been taken or dropped, or `within` has
    /// passed, whichever comes first; whatever is left then is closed. For the agent's exit,
    /// so that the answers of its last requests are not cut off.
    public func finish(within duration: Duration) async {
        let deadline = Deadline.after(duration)
        outbox.finish(by: deadline)
        while !counts.ended && !deadline.hasPassed && started.load(ordering: .acquiring) {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// What the I/O thread holds, as of its last turn.
    public var counts: ControlSocketCounts { state.withLock { $0 } }
}

/// The control socket's connections and what it did with them, for tests and diagnostics.
public struct ControlSocketCounts: Sendable, Equatable {
    /// Connections open: reading their request, waiting for the loop, or taking the reply.
    public var open = 0
    public var reading = 0
    public var waiting = 0
    public var writing = 0
    /// Open connections per uid.
    public var byUID: [UInt32: Int] = [:]
    /// Since the start: connections accepted and kept, refused over a cap (or out of
    /// descriptors), dropped for missing the request or the reply deadline, and idle ones
    /// closed to free a descriptor.
    public var accepted = 0
    public var refused = 0
    public var requestsTimedOut = 0
    public var repliesTimedOut = 0
    public var evicted = 0
    /// Requests handed to the loop, and replies written whole.
    public var delivered = 0
    public var replied = 0
    /// True once the I/O thread has ended.
    public var ended = false
    public init() {}
}
