import CLinuxShims
import Glibc

/// A connected `AF_UNIX` stream socket: the one place that calls `socket`, `bind`, `listen`,
/// `accept4`, `connect` and `getsockopt(SO_PEERCRED)`. Messages on it are lines of text.
///
/// The descriptor is owned: ``close()`` releases it, and it is close-on-exec so that nothing
/// the agent starts inherits a client's connection.
public final class UnixSocket: @unchecked Sendable {
    /// The descriptor; -1 once closed.
    public private(set) var descriptor: Int32
    /// Bytes received after the last line returned by ``readLine(limit:)``.
    private var pending: [UInt8] = []

    init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { close() }

    /// Who is at the other end, as the kernel recorded it when the connection was made
    /// (`SO_PEERCRED`): it cannot be forged by the peer.
    public struct PeerCredentials: Sendable, Equatable {
        public var pid: pid_t
        public var uid: uid_t
        public var gid: gid_t
    }

    /// Connects to the listening socket at `path`. The corresponding C calls are `socket` and `connect`.
    public static func connect(to path: String) throws(SystemCallError) -> UnixSocket {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError("socket", path) }
        let socket = UnixSocket(descriptor: fd)
        var address = try Self.address(path)
        let r = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard r == 0 else { throw SystemCallError("connect", path) }
        return socket
    }

    /// The peer's credentials. The corresponding C call is `getsockopt(SO_PEERCRED)`.
    public func peerCredentials() throws(SystemCallError) -> PeerCredentials {
        var credentials = PeerCredentials(pid: 0, uid: 0, gid: 0)
        guard appattach_peer_credentials(descriptor, &credentials.pid, &credentials.uid, &credentials.gid) == 0 else {
            throw SystemCallError("getsockopt(SO_PEERCRED)")
        }
        return credentials
    }

    /// Bounds how long ``readLine(limit:)`` waits for data; nil waits for ever.
    /// The corresponding C call is `setsockopt(SO_RCVTIMEO)`.
    public func setReceiveTimeout(_ duration: Duration?) throws(SystemCallError) {
        var value = timeval()
        if let duration {
            let (seconds, attoseconds) = duration.components
            value.tv_sec = max(Int(seconds), 0)
            value.tv_usec = Int(attoseconds / 1_000_000_000_000)
            // A zero timeval means "no timeout" to the kernel; the smallest real bound instead.
            if value.tv_sec == 0 && value.tv_usec == 0 { value.tv_usec = 1 }
        }
        guard setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size)) == 0 else {
            throw SystemCallError("setsockopt(SO_RCVTIMEO)")
        }
    }

    /// Writes `line` and a newline, all of it. The corresponding C call is `send` with
    /// `MSG_NOSIGNAL`: a client that went away must not kill the agent with `SIGPIPE`.
    public func writeLine(_ line: String) throws(SystemCallError) {
        let bytes = Array(line.utf8) + [0x0A]
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemCallError("send")
            }
            offset += n
        }
    }

    /// Reads up to the next newline and returns the line without it; nil when the peer closed
    /// the connection before a whole line. Throws `EAGAIN` when the receive timeout passed and
    /// `EMSGSIZE` when a line is longer than `limit` bytes (a peer must not make the agent
    /// buffer without bound).
    public func readLine(limit: Int = 1 << 20) throws(SystemCallError) -> String? {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let line = takeLine() { return line }
            guard pending.count <= limit else { throw SystemCallError("recv", "a line longer than \(limit) bytes", errno: EMSGSIZE) }
            let n = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemCallError("recv")
            }
            if n == 0 { return nil }
            pending += chunk[..<n]
        }
    }

    /// The first whole line received and not yet returned, without its newline, if any.
    func takeLine() -> String? {
        guard let newline = pending.firstIndex(of: 0x0A) else { return nil }
        let line = String(decoding: pending[..<newline], as: UTF8.self)
        pending.removeSubrange(...newline)
        return line
    }

    /// How many bytes were received and not yet returned as a line.
    var pendingCount: Int { pending.count }

    /// Keeps received bytes for ``takeLine()``.
    func append(_ bytes: ArraySlice<UInt8>) { pending += bytes }

    /// Closes the connection; later calls do nothing.
    public func close() {
        guard descriptor >= 0 else { return }
        Glibc.close(descriptor)
        descriptor = -1
    }

    static func address(_ path: String) throws(SystemCallError) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw SystemCallError("bind", path, errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in bytes.enumerated() { raw[i] = byte }
        }
        return address
    }
}

/// A listening `AF_UNIX` stream socket bound to a path.
public final class UnixListener: @unchecked Sendable {
    /// The socket's path.
    public let path: String
    /// The listening descriptor, for `poll(2)`.
    public let descriptor: Int32

    /// Binds and listens at `path` with file mode `mode`. A file left at `path` by an earlier
    /// run is replaced (the agent is the only one that binds it; a crash leaves the file).
    /// The socket is bound under a temporary name and renamed into place, so that clients
    /// never find a path whose mode is not yet set.
    /// With `nonBlocking`, `accept` never waits (``acceptNonBlocking()``).
    public init(path: String, mode: mode_t, backlog: Int32 = 128, nonBlocking: Bool = false) throws(SystemCallError) {
        let flags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | (nonBlocking ? Int32(SOCK_NONBLOCK.rawValue) : 0)
        let fd = socket(AF_UNIX, flags, 0)
        guard fd >= 0 else { throw SystemCallError("socket", path) }
        let temporary = path + ".new"
        unlink(temporary)
        do throws(SystemCallError) {
            var address = try UnixSocket.address(temporary)
            let r = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard r == 0 else { throw SystemCallError("bind", temporary) }
            guard chmod(temporary, mode) == 0 else { throw SystemCallError("chmod", temporary) }
            guard listen(fd, backlog) == 0 else { throw SystemCallError("listen", temporary) }
            guard rename(temporary, path) == 0 else { throw SystemCallError("rename", path) }
        } catch {
            unlink(temporary)
            Glibc.close(fd)
            throw error
        }
        self.path = path
        self.descriptor = fd
    }

    /// Waits for the next connection; nil once ``shutdown()`` was called. For a listener made
    /// with `nonBlocking`, use ``acceptNonBlocking()``. The corresponding C
    /// call is `accept4` with `SOCK_CLOEXEC`.
    public func accept() throws(SystemCallError) -> UnixSocket? {
        while true {
            let fd = appattach_accept_cloexec(descriptor)
            if fd >= 0 { return UnixSocket(descriptor: fd) }
            switch errno {
            case EINTR, ECONNABORTED: continue
            // After shutdown(2) a blocked accept returns EINVAL: that is the stop signal.
            case EINVAL, EBADF: return nil
            // Out of descriptors (EMFILE, ENFILE) and everything else is the caller's to
            // handle: sleeping here would let the backlog fill. The agent's server does not
            // block in accept (``acceptNonBlocking()``).
            default: throw SystemCallError("accept4", path)
            }
        }
    }

    /// Wakes a thread blocked in ``accept()`` (which then returns nil) and removes the path.
    /// `shutdown(2)` rather than `close(2)`: closing a descriptor another thread waits on
    /// does not wake it on Linux.
    public func shutdown() {
        Glibc.shutdown(descriptor, Int32(SHUT_RDWR))
        unlink(path)
    }

    deinit { Glibc.close(descriptor) }
}
