import CSystemd
import Glibc
import Logging

/// The system bus connection, the login monitor and the sessions seen, all owned by the
/// watcher's one thread: sd-bus is not thread-safe, so nothing here is touched from elsewhere
/// (the only cross-thread object is the stop pipe, and writing to a pipe is thread-safe).
final class LogindConnection: @unchecked Sendable {
    private let bus: OpaquePointer
    private var monitor: OpaquePointer?
    private var slots: [OpaquePointer] = []
    private let continuation: AsyncStream<LogindEvent>.Continuation
    private let logger: Logger
    /// Sessions reported so far, by object path, with their last known state. A session is
    /// reported once, whichever of its SessionNew signal and the login monitor sees it first.
    private var known: [String: LogindSession] = [:]
    /// The sessions that existed at start, handed to the caller directly rather than through the
    /// stream, so the caller knows when it has seen them all (and can report readiness).
    private(set) var initialSessions: [LogindSession] = []
    private var collectingInitialSessions = true

    /// Connects to the system bus (or `address`), subscribes to logind, and reports the sessions
    /// that already exist. Subscribing comes first so that no session falls between the two.
    init(address: String?, continuation: AsyncStream<LogindEvent>.Continuation, logger: Logger) throws(SystemdError) {
        self.continuation = continuation
        self.logger = logger
        bus = try Self.openBus(address: address)
        do {
            try subscribe()
            try startMonitor()
            for path in try LogindBus.sessionPaths(bus) { addSession(path: path, origin: "ListSessions") }
            collectingInitialSessions = false
        } catch {
            close()
            throw error
        }
    }

    private static func openBus(address: String?) throws(SystemdError) -> OpaquePointer {
        var bus: OpaquePointer?
        var r: Int32
        if let address {
            r = sd_bus_new(&bus)
            guard r >= 0, let created = bus else { throw SystemdError("create a bus", call: "sd_bus_new", result: r) }
            r = sd_bus_set_address(created, address)
            if r >= 0 { r = sd_bus_set_bus_client(created, 1) }
            if r >= 0 { r = sd_bus_start(created) }
            guard r >= 0 else {
                sd_bus_unref(created)
                throw SystemdError("connect to the bus at \(address)", call: "sd_bus_start", result: r)
            }
            return created
        }
        r = sd_bus_open_system(&bus)
        guard r >= 0, let bus else { throw SystemdError("connect to the system bus", call: "sd_bus_open_system", result: r) }
        return bus
    }

    // MARK: subscriptions

    private func subscribe() throws(SystemdError) {
        let me = Unmanaged.passUnretained(self).toOpaque()
        let handlers: [(String, sd_bus_message_handler_t)] = [
            ("SessionNew", { message, userdata, _ in
                Unmanaged<LogindConnection>.fromOpaque(userdata!).takeUnretainedValue().onSessionNew(message!)
            }),
            ("SessionRemoved", { message, userdata, _ in
                Unmanaged<LogindConnection>.fromOpaque(userdata!).takeUnretainedValue().onSessionRemoved(message!)
            }),
            ("UserNew", { message, userdata, _ in
                Unmanaged<LogindConnection>.fromOpaque(userdata!).takeUnretainedValue().onUser(message!, new: true)
            }),
            ("UserRemoved", { message, userdata, _ in
                Unmanaged<LogindConnection>.fromOpaque(userdata!).takeUnretainedValue().onUser(message!, new: false)
            }),
        ]
        for (member, handler) in handlers {
            var slot: OpaquePointer?
            // The sender is logind's well-known name: sd-bus resolves it to logind's unique name,
            // so a SessionNew that any other peer emits is dropped (verified against a spoofer).
            let r = sd_bus_match_signal(bus, &slot, LogindBus.service, LogindBus.managerPath,
                                        LogindBus.managerInterface, member, handler, me)
            guard r >= 0, let slot else {
                throw SystemdError("subscribe to \(LogindBus.service) \(member)", call: "sd_bus_match_signal", result: r)
            }
            slots.append(slot)
        }
        // Session properties. logind (252 at least) does not emit State changes although its
        // introspection says emits-change, so the login monitor below is what sees `closing`;
        // this match still catches any property logind does signal, and a newer logind's State.
        let rule = "type='signal',sender='\(LogindBus.service)',interface='\(LogindBus.propertiesInterface)',"
            + "member='PropertiesChanged',path_namespace='\(LogindBus.sessionPathPrefix)',"
            + "arg0='\(LogindBus.sessionInterface)'"
        var slot: OpaquePointer?
        let r = sd_bus_add_match(bus, &slot, rule, { message, userdata, _ in
            Unmanaged<LogindConnection>.fromOpaque(userdata!).takeUnretainedValue().onPropertiesChanged(message!)
        }, me)
        guard r >= 0, let slot else {
            throw SystemdError("subscribe to session PropertiesChanged", call: "sd_bus_add_match", result: r)
        }
        slots.append(slot)
    }

    /// `sd_login_monitor` wakes up whenever logind rewrites a session file under
    /// /run/systemd/sessions, which it does on every state change, `closing` included.
    private func startMonitor() throws(SystemdError) {
        let r = sd_login_monitor_new("session", &monitor)
        guard r >= 0 else { throw SystemdError("watch logind's sessions", call: "sd_login_monitor_new", result: r) }
    }

    // MARK: signal handlers (run inside sd_bus_process, on the watcher's thread)

    private func onSessionNew(_ message: OpaquePointer) -> Int32 {
        _ = BusMessage.readString(message)
        let signalledAt = JournalClock.nowMicroseconds()
        guard let path = BusMessage.readString(message, type: "o") else { return 0 }
        addSession(path: path, origin: "SessionNew", signalledAt: signalledAt)
        return 0
    }

    private func onSessionRemoved(_ message: OpaquePointer) -> Int32 {
        let id = BusMessage.readString(message)
        guard let path = BusMessage.readString(message, type: "o") else { return 0 }
        if known.removeValue(forKey: path) != nil, let id {
            continuation.yield(.sessionRemoved(sessionID: id))
        }
        return 0
    }

    private func onUser(_ message: OpaquePointer, new: Bool) -> Int32 {
        guard let uid = BusMessage.readUInt32(message) else { return 0 }
        continuation.yield(new ? .userNew(uid: uid) : .userRemoved(uid: uid))
        if !new { known = known.filter { $0.value.uid != uid } }
        return 0
    }

    private func onPropertiesChanged(_ message: OpaquePointer) -> Int32 {
        guard let path = sd_bus_message_get_path(message).map({ String(cString: $0) }),
              var session = known[path] else { return 0 }
        _ = BusMessage.readString(message)  // interface, already matched by arg0
        var state: String?
        if BusMessage.enter(message, "a", "{sv}") {
            while BusMessage.enter(message, "e", "sv") {
                if BusMessage.readString(message) == "State", BusMessage.variantContents(message) == "s",
                   BusMessage.enter(message, "v", "s") {
                    state = BusMessage.readString(message)
                    BusMessage.exit(message)
                } else {
                    _ = sd_bus_message_skip(message, "v")
                }
                BusMessage.exit(message)
            }
            BusMessage.exit(message)
        }
        if let state {
            update(&session, state: .init(rawValue: state))
        } else {
            // Invalidated, or another property: read the state again, it costs a file read.
            refreshState(path: path)
        }
        return 0
    }

    // MARK: sessions

    /// Reads a new session's properties and reports it, once: from its session file (sd-login),
    /// or, when that cannot be read, from logind over D-Bus (`GetAll`).
    private func addSession(path: String, origin: String, signalledAt: UInt64? = nil) {
        guard known[path] == nil else { return }
        do {
            let fromFile = LogindSessionFiles.session(path: path)
            var session = try fromFile ?? LogindBus.session(bus, path: path)
            session.signalledAt = signalledAt
            session.readAt = JournalClock.nowMicroseconds()
            known[path] = session
            logger.debug("logind session seen", metadata: [
                "logind.session": "\(session.id)", "logind.class": "\(session.sessionClass)",
                "logind.state": "\(session.state)", "appattach.uid": "\(session.uid)", "logind.origin": "\(origin)",
                "logind.read": "\(fromFile == nil ? "GetAll" : "session file")",
            ])
            if collectingInitialSessions {
                initialSessions.append(session)
            } else {
                continuation.yield(.sessionAdded(session))
            }
        } catch {
            // Gone before we asked (a short session); its SessionRemoved tells the rest.
            logger.debug("logind session vanished before it could be read", error: error,
                         metadata: ["logind.path": "\(path)"])
        }
    }

    private func update(_ session: inout LogindSession, state: LogindSession.State) {
        guard session.state != state else { return }
        session.state = state
        known[session.objectPath] = session
        continuation.yield(.sessionStateChanged(sessionID: session.id, state: state))
    }

    /// Re-reads one session's state through sd-login (a read of logind's session file, no D-Bus
    /// round trip); a session whose file is gone waits for its SessionRemoved.
    private func refreshState(path: String) {
        guard var session = known[path] else { return }
        var text: UnsafeMutablePointer<CChar>?
        guard sd_session_get_state(session.id, &text) >= 0, let text else { return }
        let state = String(cString: text)
        free(text)
        update(&session, state: .init(rawValue: state))
    }

    /// After a login monitor wake-up: new states of known sessions, and sessions whose
    /// SessionNew has not arrived yet (it will find them already reported).
    private func reconcileWithSessionFiles() {
        let signalledAt = JournalClock.nowMicroseconds()
        for path in Array(known.keys) { refreshState(path: path) }
        var list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_get_sessions(&list)
        guard count >= 0, let list else { return }
        defer {
            for index in 0..<Int(count) { free(list[index]) }
            free(list)
        }
        let knownIDs = Set(known.values.map(\.id))
        for index in 0..<Int(count) {
            guard let id = list[index].map({ String(cString: $0) }), !knownIDs.contains(id) else { continue }
            var path: UnsafeMutablePointer<CChar>?
            // sd-bus escapes the id the way logind names its objects ("3" → "_33").
            guard sd_bus_path_encode(LogindBus.sessionPathPrefix, id, &path) >= 0, let path else { continue }
            let objectPath = String(cString: path)
            free(path)
            addSession(path: objectPath, origin: "login monitor", signalledAt: signalledAt)
        }
    }

    // MARK: the loop

    /// Runs until `stopDescriptor` becomes readable or the bus fails; then finishes the stream.
    func run(stopDescriptor: Int32) {
        defer {
            close()
            continuation.finish()
        }
        while true {
            // Drain: sd_bus_process handles one message per call, and messages read during a
            // synchronous call sit in its queue without making the fd readable again.
            var r: Int32
            repeat { r = sd_bus_process(bus, nil) } while r > 0
            if r < 0 {
                logger.error("the system bus connection failed; logind events stop",
                             error: SystemdError("process bus messages", call: "sd_bus_process", result: r))
                return
            }
            var fds = [
                pollfd(fd: sd_bus_get_fd(bus), events: Int16(truncatingIfNeeded: sd_bus_get_events(bus)), revents: 0),
                pollfd(fd: stopDescriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: monitor.map { sd_login_monitor_get_fd($0) } ?? -1,
                       events: Int16(truncatingIfNeeded: monitor.map { sd_login_monitor_get_events($0) } ?? 0), revents: 0),
            ]
            let ready = poll(&fds, nfds_t(fds.count), pollTimeoutMilliseconds())
            if ready < 0 && errno != EINTR {
                logger.error("waiting for logind failed; logind events stop",
                             error: SystemdError("wait for logind", call: "poll", result: -errno))
                return
            }
            if fds[1].revents != 0 { return }
            if fds[2].revents != 0, let monitor {
                // Must be flushed on every wake-up, or the inotify fd stays readable.
                _ = sd_login_monitor_flush(monitor)
                reconcileWithSessionFiles()
            }
        }
    }

    /// The earliest of sd-bus's and the monitor's deadlines (absolute CLOCK_MONOTONIC µs,
    /// `UInt64.max` for none), as poll's relative milliseconds, rounded up so poll does not
    /// return just before the deadline and spin.
    private func pollTimeoutMilliseconds() -> Int32 {
        var deadline = UInt64.max
        var usec: UInt64 = 0
        if sd_bus_get_timeout(bus, &usec) >= 0 { deadline = min(deadline, usec) }
        if let monitor, sd_login_monitor_get_timeout(monitor, &usec) >= 0 { deadline = min(deadline, usec) }
        guard deadline != .max else { return -1 }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let nowUsec = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        guard deadline > nowUsec else { return 0 }
        return Int32(clamping: (deadline - nowUsec + 999) / 1000)
    }

    private func close() {
        for slot in slots { sd_bus_slot_unref(slot) }
        slots.removeAll()
        if let monitor { sd_login_monitor_unref(monitor) }
        monitor = nil
        sd_bus_flush_close_unref(bus)
    }
}
