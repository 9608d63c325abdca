import CLinuxShims
import Glibc

/// The server's side of non-blocking sockets: one thread polls many connections, and none of
/// these calls ever waits.
extension UnixListener {
    /// What one non-blocking `accept4` gave.
    public enum Accepted {
        /// A connection, non-blocking and close-on-exec.
        case connection(UnixSocket)
        /// No connection is waiting.
        case none
        /// The process (`EMFILE`) or the system (`ENFILE`) has no descriptor left, or the
        /// kernel no memory (`ENOBUFS`, `ENOMEM`): the connection stays in the backlog.
        case outOfResources(Int32)
        /// The listener was shut down.
        case stopped
    }

    /// Takes the next connection from the backlog if there is one, without waiting (the
    /// listener must have been made `nonBlocking`). The corresponding C calls are `accept4`
    /// with `SOCK_CLOEXEC` and `fcntl(F_SETFL, O_NONBLOCK)`.
    public func acceptNonBlocking() throws(SystemCallError) -> Accepted {
        while true {
            let fd = appattach_accept_cloexec(descriptor)
            if fd >= 0 {
                let socket = UnixSocket(descriptor: fd)
                try socket.setNonBlocking()
                return .connection(socket)
            }
            let failure = errno
            switch failure {
            case EINTR, ECONNABORTED: continue
            case EAGAIN: return .none
            case EMFILE, ENFILE, ENOBUFS, ENOMEM: return .outOfResources(failure)
            case EINVAL, EBADF: return .stopped
            default: throw SystemCallError("accept4", path, errno: failure)
            }
        }
    }
}

extension UnixSocket {
    /// What one non-blocking `recv` gave.
    public enum Received: Equatable {
        /// This many bytes, appended to the ones kept for ``takeLine()``.
        case bytes(Int)
        /// Nothing to read now.
        case nothing
        /// The peer closed its end.
        case closed
    }

    /// Makes every call on the socket return at once rather than wait. The corresponding C
    /// call is `fcntl(F_SETFL, O_NONBLOCK)`.
    public func setNonBlocking() throws(SystemCallError) {
        let flags = fcntl(descriptor, F_GETFL)
        guard flags >= 0, fcntl(descriptor, F_SETFL, flags | O_NONBLOCK) == 0 else { throw SystemCallError("fcntl(O_NONBLOCK)") }
    }

    /// Reads what has arrived, up to `maximum` bytes, without waiting; the bytes are kept
    /// for ``takeLine()``. The corresponding C call is `recv` with `MSG_DONTWAIT`.
    public func receiveAvailable(maximum: Int = 16 << 10) throws(SystemCallError) -> Received {
        var chunk = [UInt8](repeating: 0, count: max(maximum, 1))
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 { append(chunk[..<n]); return .bytes(n) }
            if n == 0 { return .closed }
            switch errno {
            case EINTR: continue
            case EAGAIN: return .nothing
            default: throw SystemCallError("recv")
            }
        }
    }

    /// The whole line received so far, without its newline, if one has arrived; later bytes
    /// stay kept. Public for servers that poll (``receiveAvailable(maximum:)``).
    public func receivedLine() -> String? { takeLine() }

    /// How many bytes were received and not yet returned as a line.
    public var receivedCount: Int { pendingCount }

    /// Sends as much of `bytes` as the socket takes now and returns how many it took (0 when
    /// its buffer is full). The corresponding C call is `send` with `MSG_DONTWAIT` and
    /// `MSG_NOSIGNAL`: a peer that went away is an error (`EPIPE`), not `SIGPIPE`.
    public func sendAvailable(_ bytes: ArraySlice<UInt8>) throws(SystemCallError) -> Int {
        guard !bytes.isEmpty else { return 0 }
        while true {
            let n = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL)) }
            if n >= 0 { return n }
            switch errno {
            case EINTR: continue
            case EAGAIN: return 0
            default: throw SystemCallError("send")
            }
        }
    }
}

/// A way for other threads to wake a thread that waits in `poll(2)`: a non-blocking,
/// close-on-exec socket pair whose read end the waiting thread polls.
public final class WakeSignal: @unchecked Sendable {
    /// The end to poll for `POLLIN`.
    public let descriptor: Int32
    private let writer: Int32

    public init() throws(SystemCallError) {
        var ends: [Int32] = [-1, -1]
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &ends) == 0 else { throw SystemCallError("socketpair") }
        descriptor = ends[0]
        writer = ends[1]
    }

    /// Wakes the poller. Never waits: when wake-ups are already pending, one more adds nothing.
    public func signal() {
        var byte: UInt8 = 1
        _ = send(writer, &byte, 1, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL))
    }

    /// Takes every pending wake-up, so that the next poll waits again.
    public func clear() {
        var buffer = [UInt8](repeating: 0, count: 256)
        while buffer.withUnsafeMutableBytes({ recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }) > 0 {}
    }

    deinit {
        Glibc.close(descriptor)
        Glibc.close(writer)
    }
}
