import ControlProtocol
import Glibc
import LinuxSystem
import Logging
import Systemd

/// The control socket's one I/O thread: a `poll(2)` over the listener, the wake-up pair and
/// every open connection, with nothing on it that waits for a client. Everything here
/// belongs to that thread; other threads reach it through the ``ControlOutbox``.
///
/// Each turn: take the outbox (replies to write, connections to close, stop), drop what
/// missed its deadline, poll until something is ready or the next deadline, then accept,
/// read and write what is ready.
final class ControlIOLoop {
    /// One open connection.
    final class Slot {
        enum Phase {
            /// Reading the request line, until the deadline.
            case reading(until: Deadline)
            /// The request is with the event loop.
            case waiting
            /// Writing the reply, until the deadline.
            case writing(bytes: [UInt8], offset: Int, until: Deadline)
        }
        let id: UInt64
        let socket: UnixSocket
        let peer: UnixSocket.PeerCredentials
        let acceptedAt: Deadline
        var phase: Phase

        init(id: UInt64, socket: UnixSocket, peer: UnixSocket.PeerCredentials, acceptedAt: Deadline, phase: Phase) {
            self.id = id; self.socket = socket; self.peer = peer; self.acceptedAt = acceptedAt; self.phase = phase
        }

        var isReading: Bool { if case .reading = phase { true } else { false } }
    }

    /// How many connections one turn accepts at most, so that a flood of connects does not
    /// starve the reads and writes of those already open.
    static let acceptBatch = 256
    /// How long the listener is left out of the poll when the kernel has no memory for a
    /// connection, or no descriptor could be freed: short, and the other connections are
    /// served meanwhile.
    static let listenerPause: Duration = .milliseconds(10)

    var listener: UnixListener?
    let outbox: ControlOutbox
    let limits: ControlLimits
    let logger: Logger
    let deliver: @Sendable (ControlConnection) -> Void
    let publish: (ControlSocketCounts) -> Void
    var slots: [UInt64: Slot] = [:]
    var admission: ControlAdmission
    var nextID: UInt64 = 1
    var counts = ControlSocketCounts()
    var bursts: BurstLog
    /// A descriptor held in reserve: closed to accept (and refuse) a connection when the
    /// process has no other left, so that the backlog is answered instead of filling.
    var reserve: Int32
    var listenerPausedUntil: Deadline?
    var finishBy: Deadline?

    init(listener: UnixListener, outbox: ControlOutbox, limits: ControlLimits, logger: Logger,
         deliver: @escaping @Sendable (ControlConnection) -> Void, publish: @escaping (ControlSocketCounts) -> Void) {
        self.listener = listener
        self.outbox = outbox
        self.limits = limits
        self.logger = logger
        self.deliver = deliver
        self.publish = publish
        admission = ControlAdmission(limits: limits)
        bursts = BurstLog(quiet: limits.burstQuiet)
        reserve = open("/dev/null", O_RDONLY | O_CLOEXEC)
    }

    /// Runs until stopped and every connection is done (or the finish deadline passed).
    func run() {
        while turn() {}
        for slot in Array(slots.values) { close(slot) }
        if reserve >= 0 { Glibc.close(reserve) }
        for burst in bursts.ended(now: .now.adding(.seconds(86_400))) { logEnd(burst) }
        counts.ended = true
        publishCounts()
    }

    /// One turn; false when the thread is done.
    private func turn() -> Bool {
        let mail = outbox.take()
        if mail.stop, listener != nil { stopAccepting() }
        if let deadline = mail.finishBy { finishBy = deadline }
        for reply in mail.replies { startWriting(reply.id, reply.bytes) }
        for id in mail.abandoned { if let slot = slots[id] { close(slot) } }
        let now = Deadline.now
        // A pause that has passed is over: left set, it would make every poll return at once.
        if let paused = listenerPausedUntil, now >= paused { listenerPausedUntil = nil }
        // The reserve could not be had (or had back) while descriptors ran out: try again.
        if reserve < 0 { reserve = open("/dev/null", O_RDONLY | O_CLOEXEC) }
        expire(now)
        for burst in bursts.ended(now: now) { logEnd(burst) }
        publishCounts()
        if listener == nil && (slots.isEmpty || (finishBy.map { now >= $0 } ?? false)) { return false }

        var entries = [pollfd(fd: outbox.wake.descriptor, events: Int16(POLLIN), revents: 0)]
        var owners: [Slot?] = [nil]
        let listening = listener != nil && !(listenerPausedUntil.map { now < $0 } ?? false)
        if listening, let listener {
            entries.append(pollfd(fd: listener.descriptor, events: Int16(POLLIN), revents: 0))
            owners.append(nil)
        }
        for slot in slots.values {
            switch slot.phase {
            case .reading: entries.append(pollfd(fd: slot.socket.descriptor, events: Int16(POLLIN), revents: 0))
            case .writing: entries.append(pollfd(fd: slot.socket.descriptor, events: Int16(POLLOUT), revents: 0))
            case .waiting: continue
            }
            owners.append(slot)
        }
        let ready = poll(&entries, nfds_t(entries.count), nextWake(now)?.pollTimeout ?? -1)
        guard ready > 0 else { return true }
        if entries[0].revents != 0 { outbox.wake.clear() }
        if listening, entries[1].revents != 0 { acceptReady() }
        for (entry, owner) in zip(entries, owners) where entry.revents != 0 {
            guard let slot = owner, slots[slot.id] != nil else { continue }
            switch slot.phase {
            case .reading: read(slot)
            case .writing: write(slot)
            case .waiting: break
            }
        }
        publishCounts()
        return true
    }

    /// The earliest of the deadlines this thread must act on, if any.
    private func nextWake(_ now: Deadline) -> Deadline? {
        var next = [finishBy, bursts.nextEnd, listenerPausedUntil].compactMap { $0 }.min()
        for slot in slots.values {
            switch slot.phase {
            case .reading(let until), .writing(_, _, let until): next = min(next ?? until, until)
            case .waiting: break
            }
        }
        return next
    }

    // MARK: - Accepting

    /// Accepts what the backlog holds, up to a batch: each connection is counted against its
    /// uid's cap and taken, or answered with `TooManyConnections` and closed at once.
    private func acceptReady() {
        guard let listener else { return }
        for _ in 0..<Self.acceptBatch {
            let accepted: UnixListener.Accepted
            do { accepted = try listener.acceptNonBlocking() } catch {
                if bursts.note("accept", "the control socket cannot accept: \(error)") {
                    logger.error("the control socket cannot accept connections, trying again: \(error)")
                }
                listenerPausedUntil = .after(Self.listenerPause)
                return
            }
            switch accepted {
            case .connection(let socket): admit(socket)
            case .none: return
            case .stopped: stopAccepting(); return
            case .outOfResources(let failure):
                guard shed(failure) else {
                    listenerPausedUntil = .after(Self.listenerPause)
                    return
                }
            }
        }
    }

    /// Takes `socket` if its uid is under its caps; refuses it otherwise.
    private func admit(_ socket: UnixSocket) {
        guard let peer = try? socket.peerCredentials() else { return socket.close() }
        if let refusal = admission.refusal(for: peer.uid) {
            counts.refused += 1
            let key = peer.uid == 0 ? "refused root" : "refused \(peer.uid)"
            if bursts.note(key, "connections of uid \(peer.uid) refused") {
                logger.warning("control socket: connections of uid \(peer.uid) refused: \(refusal)",
                               metadata: ["appattach.peer_uid": "\(peer.uid)", "appattach.peer_pid": "\(peer.pid)"])
            }
            return refuse(socket, .tooManyConnections, refusal)
        }
        admission.admit(peer.uid)
        counts.accepted += 1
        let now = Deadline.now
        let slot = Slot(id: nextID, socket: socket, peer: peer, acceptedAt: now, phase: .reading(until: now.adding(limits.requestDeadline)))
        nextID += 1
        slots[slot.id] = slot
        // A client usually writes its request right after connecting: read it now, not a turn later.
        read(slot)
    }

    /// Out of descriptors (or kernel memory): frees one so that the next connection in the
    /// backlog is answered rather than left to wait. The oldest connection that has not sent
    /// its whole request goes first (users' before root's); when every open connection has,
    /// the reserve descriptor is given up to accept one connection and refuse it. Returns
    /// false when nothing could be freed.
    private func shed(_ failure: Int32) -> Bool {
        let reason = String(cString: strerror(failure))
        if bursts.note("descriptors", "out of descriptors (\(reason))") {
            logger.warning("control socket: out of descriptors (\(reason)): closing the oldest connections that have not sent a request and refusing new ones until descriptors are free again")
        }
        guard failure == EMFILE || failure == ENFILE else { return false }
        let message = "the appattach agent is out of descriptors; try again shortly"
        if let oldest = slots.values.filter(\.isReading).min(by: { ($0.peer.uid == 0 ? 1 : 0, $0.acceptedAt) < ($1.peer.uid == 0 ? 1 : 0, $1.acceptedAt) }) {
            counts.evicted += 1
            refuse(oldest.socket, .tooManyConnections, message)
            close(oldest)
            return true
        }
        guard reserve >= 0, let listener else { return false }
        Glibc.close(reserve)
        reserve = -1
        if case .connection(let socket)? = try? listener.acceptNonBlocking() {
            counts.refused += 1
            refuse(socket, .tooManyConnections, message)
        }
        reserve = open("/dev/null", O_RDONLY | O_CLOEXEC)
        return reserve >= 0
    }

    /// Stops accepting: the path goes, and connections not yet read whole are told so.
    private func stopAccepting() {
        listener?.shutdown()
        listener = nil
        for slot in slots.values where slot.isReading {
            refuse(slot.socket, .shuttingDown, "the appattach agent is stopping")
            close(slot)
        }
    }

    // MARK: - Logging and counts

    private func logEnd(_ burst: BurstLog.Burst) {
        let seconds = Deadline.nanoseconds(burst.last.since(burst.first)) / 1_000_000_000
        logger.notice("control socket: \(burst.what): \(burst.count) times over \(seconds) s, now over")
    }

    private func publishCounts() {
        counts.open = slots.count
        counts.reading = 0; counts.waiting = 0; counts.writing = 0
        for slot in slots.values {
            switch slot.phase {
            case .reading: counts.reading += 1
            case .waiting: counts.waiting += 1
            case .writing: counts.writing += 1
            }
        }
        counts.byUID = admission.byUID.reduce(into: [:]) { $0[$1.key] = $1.value }
        if admission.root > 0 { counts.byUID[0] = admission.root }
        publish(counts)
    }
}
