import Glibc

/// A libsystemd call failed. Its description names the call, what it was about, and the reason,
/// e.g. `cannot subscribe to org.freedesktop.login1 SessionNew: sd_bus_match_signal: Permission denied`.
public struct SystemdError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What the agent was trying to do.
    public var action: String
    /// The libsystemd function that failed.
    public var call: String
    /// The positive errno (libsystemd returns it negated).
    public var errno: Int32
    /// The D-Bus error name and message, when the failure came from a peer.
    public var busError: String?

    /// Creates an error from libsystemd's negative return value.
    public init(_ action: String, call: String, result: Int32, busError: String? = nil) {
        self.action = action
        self.call = call
        self.errno = result < 0 ? -result : result
        self.busError = busError
    }

    public var description: String {
        "cannot \(action): \(call): " + (busError ?? String(cString: strerror(errno)))
    }
}
