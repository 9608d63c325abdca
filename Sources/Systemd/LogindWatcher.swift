import Glibc
import Logging
import Synchronization

/// Watches systemd-logind on the system bus and streams what happens to sessions and users.
///
/// ```swift
/// let watcher = try await LogindWatcher.start(logger: logger)
/// var tracker = SignInTracker()
/// for session in watcher.initialSessions { … tracker.handle(.sessionAdded(session)) … }
/// notifier.ready()
/// for await event in watcher.events {
///     for decision in tracker.handle(event) { … }
/// }
/// ```
/// On start it subscribes to logind's `SessionNew`, `SessionRemoved`, `UserNew`, `UserRemoved`
/// (sender checked, so other peers cannot spoof them) and to session `PropertiesChanged`, then
/// reads every existing session (`ListSessions`) into ``initialSessions``. Session
/// states are re-read when logind's session files change (`sd_login_monitor`), because logind
/// does not signal `State`: that is how a session going `closing` is seen.
///
/// All of sd-bus runs on one thread of the watcher's own, blocked in `poll(2)` when idle; the
/// stream is the only way out of it. The stream ends when ``close()`` is called, when its consumer
/// stops iterating, or when the bus connection fails (logged).
public final class LogindWatcher: Sendable {
    /// The sessions that existed when the watcher subscribed (`ListSessions`), in logind's order.
    /// Signals for them that arrive later are in ``events``; they are never reported twice.
    public let initialSessions: [LogindSession]
    /// Events after subscription, in the order logind sent them.
    public let events: AsyncStream<LogindEvent>

    private let control: Control

    private init(initialSessions: [LogindSession], events: AsyncStream<LogindEvent>, control: Control) {
        self.initialSessions = initialSessions
        self.events = events
        self.control = control
    }

    /// Connects, subscribes and enumerates; returns with the existing sessions in hand, so a
    /// caller can handle them and report readiness before it iterates ``events``.
    ///
    /// - Parameters:
    ///   - busAddress: a D-Bus address to use instead of the system bus (tests); nil uses
    ///     `sd_bus_open_system`, which honours `DBUS_SYSTEM_BUS_ADDRESS`.
    ///   - logger: for the watcher's own debug lines and for a failing connection.
    public static func start(busAddress: String? = nil, logger: Logger) async throws -> LogindWatcher {
        let (events, continuation) = AsyncStream.makeStream(of: LogindEvent.self, bufferingPolicy: .unbounded)
        let control = try Control()
        continuation.onTermination = { _ in control.requestStop() }
        let context = ThreadContext(address: busAddress, continuation: continuation, logger: logger,
                                    stopDescriptor: control.stopReadDescriptor)
        let initial = try await withCheckedThrowingContinuation { (started: CheckedContinuation<[LogindSession], any Error>) in
            context.started = started
            control.spawn(context)
        }
        return LogindWatcher(initialSessions: initial, events: events, control: control)
    }

    /// Stops the watcher's thread and waits for it; the stream finishes. Safe to call more than
    /// once and from any thread. It waits at most as long as a logind call in flight (5 s).
    public func close() {
        control.requestStop()
        control.join()
    }

    deinit {
        close()
    }
}

/// What the thread needs, handed over through pthread's single pointer argument.
private final class ThreadContext: @unchecked Sendable {
    let address: String?
    let continuation: AsyncStream<LogindEvent>.Continuation
    let logger: Logger
    let stopDescriptor: Int32
    /// Resumed exactly once, by the thread, when it is subscribed or has failed.
    var started: CheckedContinuation<[LogindSession], any Error>?

    init(address: String?, continuation: AsyncStream<LogindEvent>.Continuation, logger: Logger, stopDescriptor: Int32) {
        self.address = address
        self.continuation = continuation
        self.logger = logger
        self.stopDescriptor = stopDescriptor
    }

    func run() {
        let connection: LogindConnection
        do {
            connection = try LogindConnection(address: address, continuation: continuation, logger: logger)
        } catch {
            continuation.finish()
            started?.resume(throwing: error)
            return
        }
        started?.resume(returning: connection.initialSessions)
        started = nil
        connection.run(stopDescriptor: stopDescriptor)
    }
}

/// The thread and its stop pipe. A pipe rather than a flag: the thread sleeps in poll(2), and
/// a readable pipe is what wakes it.
private final class Control: Sendable {
    private struct State {
        var thread: pthread_t?
        var joined = false
    }

    let stopReadDescriptor: Int32
    private let stopWriteDescriptor: Int32
    private let state = Mutex(State())

    init() throws {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw SystemdError("create the watcher's stop pipe", call: "pipe", result: -errno)
        }
        // Not inherited by children the agent starts; never blocking the writer on a full pipe.
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        }
        stopReadDescriptor = fds[0]
        stopWriteDescriptor = fds[1]
    }

    func spawn(_ context: ThreadContext) {
        let argument = Unmanaged.passRetained(context).toOpaque()
        var thread = pthread_t()
        let r = pthread_create(&thread, nil, { argument in
            let context = Unmanaged<ThreadContext>.fromOpaque(argument!).takeRetainedValue()
            context.run()
            return nil
        }, argument)
        if r != 0 {
            let context = Unmanaged<ThreadContext>.fromOpaque(argument).takeRetainedValue()
            context.continuation.finish()
            context.started?.resume(throwing: SystemdError("start the logind watcher thread", call: "pthread_create", result: -r))
            return
        }
        state.withLock { $0.thread = thread }
    }

    /// Wakes the thread; it closes the bus and finishes the stream. Called from the stream's
    /// termination handler too, which may run on the watcher thread itself: so no waiting here.
    func requestStop() {
        var byte: UInt8 = 1
        _ = write(stopWriteDescriptor, &byte, 1)
    }

    /// Waits for the thread to end, once; then the pipe can go.
    func join() {
        let thread: pthread_t? = state.withLock { state in
            guard !state.joined else { return nil }
            state.joined = true
            return state.thread
        }
        guard let thread else { return }
        // The last reference can be dropped on the watcher thread itself (from a stream
        // consumer running there): it cannot wait for itself, so it lets the thread go.
        if pthread_equal(thread, pthread_self()) != 0 { pthread_detach(thread) } else { pthread_join(thread, nil) }
    }

    deinit {
        Glibc.close(stopReadDescriptor)
        Glibc.close(stopWriteDescriptor)
    }
}
