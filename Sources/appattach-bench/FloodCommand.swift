import ArgumentParser
import Glibc

/// `appattach-bench flood`: what a hostile user can do to the agent's control socket, for the
/// tests that prove the agent sheds it. Opens many connections and trickles one byte at a time
/// into each (never a whole request), and optionally asks for a large `History` and never reads
/// the reply, reconnecting whenever the agent drops a connection. It stops by itself after
/// `--seconds`, or at SIGTERM/SIGINT, and prints what the agent did to it.
struct FloodCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flood",
        abstract: "Flood the agent's control socket as the calling user (a test's attacker).")

    @Option(help: "The agent's control socket.")
    var socket = "/run/appattach/io.appattach.Manager"

    @Option(help: "Connections to hold open, each trickling bytes.")
    var connections = 1_500

    @Option(help: "Seconds between the bytes written to each connection.")
    var interval = 5.0

    @Option(help: "Connections that ask for a large History and never read the reply.")
    var slowReaders = 0

    @Option(help: "How long to flood, in seconds (it stops by itself).")
    var seconds = 60.0

    func run() throws {
        raiseDescriptorLimit(to: connections + slowReaders + 64)
        var flood = Flood(socket: socket)
        let deadline = Flood.now() + seconds
        var nextTrickle = Flood.now()
        floodStopRequested = 0
        signal(SIGTERM) { _ in floodStopRequested = 1 }
        signal(SIGINT) { _ in floodStopRequested = 1 }
        while Flood.now() < deadline && floodStopRequested == 0 {
            flood.fill(tricklers: connections, slowReaders: slowReaders)
            if Flood.now() >= nextTrickle {
                flood.trickle()
                nextTrickle = Flood.now() + interval
            }
            flood.reap()
            usleep(50_000)
        }
        flood.closeAll()
        print("flood of \(socket) for \(Int(Flood.now() - deadline + seconds)) s: \(flood.opened) connections opened, \(flood.refused) refused at connect, "
              + "\(flood.dropped) dropped by the agent, \(flood.held) still held at the end, \(flood.repliesSeen) replies started")
    }

    private func raiseDescriptorLimit(to wanted: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        limit.rlim_cur = min(limit.rlim_max, rlim_t(max(wanted, 0)))
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}

/// Set by the SIGTERM/SIGINT handler: the flood ends and reports.
nonisolated(unsafe) private var floodStopRequested: sig_atomic_t = 0

/// The flood's connections and what happened to them.
struct Flood {
    let socket: String
    private(set) var tricklers: [Int32] = []
    private(set) var readers: [Int32] = []
    private(set) var opened = 0, refused = 0, dropped = 0, repliesSeen = 0

    init(socket: String) { self.socket = socket }

    var held: Int { tricklers.count + readers.count }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Opens connections until the wanted numbers are held (a few hundred per call, so the
    /// loop keeps trickling meanwhile).
    mutating func fill(tricklers wanted: Int, slowReaders wantedReaders: Int) {
        var budget = 200
        while tricklers.count < wanted && budget > 0, let fd = connect() {
            tricklers.append(fd)
            budget -= 1
        }
        while readers.count < wantedReaders && budget > 0, let fd = connect() {
            let request = #"{"method":"io.appattach.Manager.History","parameters":{"limit":1000000}}"# + "\n"
            _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            readers.append(fd)
            budget -= 1
        }
    }

    /// One byte into every trickling connection: never a newline, so never a whole request.
    mutating func trickle() {
        var kept: [Int32] = []
        for fd in tricklers {
            var byte: UInt8 = UInt8(ascii: "{")
            if send(fd, &byte, 1, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) == 1 || errno == EAGAIN {
                kept.append(fd)
            } else {
                close(fd)
                dropped += 1
            }
        }
        tricklers = kept
    }

    /// Finds the connections the agent closed (a poll says hung up, or a read says end of
    /// file), and counts a reply's first bytes without reading the rest.
    mutating func reap() {
        tricklers = reaped(tricklers)
        readers = reaped(readers)
    }

    private mutating func reaped(_ fds: [Int32]) -> [Int32] {
        guard !fds.isEmpty else { return fds }
        var polls = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        guard poll(&polls, nfds_t(polls.count), 0) > 0 else { return fds }
        var kept: [Int32] = []
        for entry in polls {
            if entry.revents & Int16(POLLHUP | POLLERR) != 0 {
                close(entry.fd)
                dropped += 1
            } else if entry.revents & Int16(POLLIN) != 0 {
                var byte: UInt8 = 0
                let n = recv(entry.fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
                if n == 0 {
                    close(entry.fd)
                    dropped += 1
                } else {
                    // A reply began: leave it unread (the slow reader's whole point).
                    repliesSeen += 1
                    kept.append(entry.fd)
                }
            } else {
                kept.append(entry.fd)
            }
        }
        return kept
    }

    mutating func closeAll() {
        for fd in tricklers + readers { close(fd) }
    }

    /// A non-blocking connect: a full backlog or a refusal counts and is not waited for.
    private mutating func connect() -> Int32? {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(socket.utf8.prefix(capacity - 1))
            raw.copyBytes(from: bytes)
        }
        let r = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if r == 0 || errno == EINPROGRESS {
            opened += 1
            return fd
        }
        close(fd)
        refused += 1
        return nil
    }
}
