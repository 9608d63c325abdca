import Glibc

/// The client's side of an exchange bounded by one ``Deadline``: connecting, sending the
/// request and reading every byte of the reply all end by it, whatever the other end does.
///
/// A blocking `connect(2)` to an `AF_UNIX` socket whose listen backlog is full waits until
/// the server accepts, without any bound (`SO_SNDTIMEO` does not apply); a receive timeout
/// bounds each `recv`, not the exchange. So the socket is non-blocking from the start, and
/// every wait is a `poll(2)` that ends at the deadline.
extension UnixSocket {
    /// Connects to the listening socket at `path`, giving up at `deadline` (nil: never).
    ///
    /// A full backlog makes a non-blocking `AF_UNIX` connect fail with `EAGAIN` at once (and
    /// the socket polls writable all the same), so it is tried again after a short pause,
    /// 1 ms doubling to 20 ms, until the deadline. Throws `ETIMEDOUT` when the deadline
    /// passes. The socket returned is non-blocking: use the `by:` reads and writes.
    public static func connect(to path: String, by deadline: Deadline?) throws(SystemCallError) -> UnixSocket {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError("socket", path) }
        let socket = UnixSocket(descriptor: fd)
        var address = try Self.address(path)
        var pause: Int32 = 1
        while true {
            let r = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if r == 0 { return socket }
            let failure = errno
            switch failure {
            case EISCONN:
                return socket
            case EAGAIN, EINTR:
                // The server's backlog is full (or a signal came): it may drain any moment.
                if let deadline, deadline.hasPassed {
                    throw SystemCallError("connect", path + " (its connection queue stayed full)", errno: ETIMEDOUT)
                }
                var none = pollfd()
                _ = poll(&none, 0, deadline.map { min(pause, $0.pollTimeout) } ?? pause)
                pause = min(pause * 2, 20)
            case EINPROGRESS, EALREADY:
                try socket.wait(for: Int16(POLLOUT), by: deadline, "connect", path)
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else { throw SystemCallError("getsockopt(SO_ERROR)", path) }
                if error == 0 { return socket }
                throw SystemCallError("connect", path, errno: error)
            default:
                throw SystemCallError("connect", path, errno: failure)
            }
        }
    }

    /// Writes `line` and a newline, all of it, by `deadline` (nil: no bound). Throws
    /// `ETIMEDOUT` when the peer does not take it in time. `MSG_NOSIGNAL`: a peer that went
    /// away is an error, not `SIGPIPE`.
    public func writeLine(_ line: String, by deadline: Deadline?) throws(SystemCallError) {
        let bytes = Array(line.utf8) + [0x0A]
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes {
                send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            }
            if n >= 0 { offset += n; continue }
            switch errno {
            case EINTR: continue
            case EAGAIN: try wait(for: Int16(POLLOUT), by: deadline, "send")
            default: throw SystemCallError("send")
            }
        }
    }

    /// Reads up to the next newline by `deadline` (nil: no bound) and returns the line
    /// without it; nil when the peer closed the connection before a whole line. Throws
    /// `ETIMEDOUT` when the deadline passes first and `EMSGSIZE` when a line is longer than
    /// `limit` bytes.
    public func readLine(limit: Int = 1 << 20, by deadline: Deadline?) throws(SystemCallError) -> String? {
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            if let line = takeLine() { return line }
            guard pendingCount <= limit else { throw SystemCallError("recv", "a line longer than \(limit) bytes", errno: EMSGSIZE) }
            let n = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 { append(chunk[..<n]); continue }
            if n == 0 { return nil }
            switch errno {
            case EINTR: continue
            case EAGAIN: try wait(for: Int16(POLLIN), by: deadline, "recv")
            default: throw SystemCallError("recv")
            }
        }
    }

    /// Waits until the socket is ready for `events` or has an error or hang-up (which the
    /// next call then reports), or throws `ETIMEDOUT` at `deadline`.
    func wait(for events: Int16, by deadline: Deadline?, _ call: String, _ subject: String? = nil) throws(SystemCallError) {
        while true {
            var entry = pollfd(fd: descriptor, events: events, revents: 0)
            let r = poll(&entry, 1, deadline?.pollTimeout ?? -1)
            if r > 0 { return }
            if r < 0 && errno != EINTR { throw SystemCallError("poll", subject) }
            if let deadline, deadline.hasPassed { throw SystemCallError(call, subject, errno: ETIMEDOUT) }
        }
    }
}
