import Systemd

/// The agent's event loop: one command at a time on the core, in arrival order, each timed by
/// `LoopWatch` (the watchdog is pinged only while no command has run for longer than half its
/// interval). The timers the core asks for (a sign-out's grace period, a look at apps that
/// still run, a new attempt in a home that did not answer) are child tasks that put their
/// command on the queue when due.
///
/// No command waits for work in a user's home: the core starts it and it comes back as a
/// `homeWorkDone` command (see `AgentCore+HomeWork.swift`), so however long a home takes, the
/// loop goes on and the watchdog is pinged. `Agent.run` drives it; tests run the same loop on
/// a core of their own.
final class AgentLoop {
    let core: AgentCore
    /// Whether the loop is alive, for the watchdog.
    let watch: LoopWatch
    private let commands: AsyncStream<AgentCommand>
    private let input: AsyncStream<AgentCommand>.Continuation

    /// A loop for `core`, which from now on queues its commands here (`AgentCore.enqueue`).
    /// `watchdogInterval`: systemd's, whose half is the most one command may take.
    init(core: AgentCore, watchdogInterval: Duration?) {
        (commands, input) = AsyncStream.makeStream(of: AgentCommand.self, bufferingPolicy: .unbounded)
        self.core = core
        watch = LoopWatch(limit: (watchdogInterval ?? .seconds(60)) / 2)
        let input = input
        core.enqueue = { input.yield($0) }
        core.userFiles.onStuckThreadReturned { input.yield(.homeThreadReturned(uid: $0)) }
    }

    /// Puts commands on the queue, from any thread.
    var enqueue: @Sendable (AgentCommand) -> Void {
        let input = input
        return { input.yield($0) }
    }

    /// Starts serving: sends `READY=1` (with the status line) and calls `announce`, then
    /// queues the start-up work (`queueStartUpWork`) and runs the loop (`run`). `READY=1`
    /// comes before any work in a home, and nothing in a home is awaited by the loop after it,
    /// so no user can keep the agent from starting, nor stop the watchdog's pings.
    func serve(notifier: any AgentNotifying, status: StatusPublisher, initialSessions: [LogindSession],
               events: AsyncStream<LogindEvent>?, periodic: [(interval: Duration, command: AgentCommand)],
               announce: () -> Void = {}) async {
        notifier.ready(status: core.statusLine)
        announce()
        queueStartUpWork(initialSessions: initialSessions)
        await run(notifier: notifier, status: status, events: events, periodic: periodic)
    }

    /// What follows `READY=1`, queued before anything else: the users signed in already are
    /// registered (through their lanes, like any sign-in), then the registrations of users who
    /// are not are deregistered, then the app data of removed accounts is looked for. Nothing
    /// of it runs before the loop does, so no home can hold up the start.
    func queueStartUpWork(initialSessions: [LogindSession]) {
        for session in initialSessions { input.yield(.logind(.sessionAdded(session))) }
        input.yield(.deregisterLeftovers)
        input.yield(.sweepRemovedAccounts)
    }

    /// Runs commands until `.shutdown`; then only what finishes the home work in flight (its
    /// results, bounded by the jobs' deadlines) while requests are refused, and returns once
    /// none is in flight. `events`: logind's; `periodic`: commands queued at their interval.
    func run(notifier: any AgentNotifying, status: StatusPublisher, events: AsyncStream<LogindEvent>?,
             periodic: [(interval: Duration, command: AgentCommand)]) async {
        let input = input, watch = watch, core = core
        await withTaskGroup(of: Void.self) { group in
            if let events {
                group.addTask { for await event in events { input.yield(.logind(event)) } }
            }
            for (interval, command) in periodic {
                Self.every(interval, in: &group) { input.yield(command) }
            }
            if let interval = notifier.watchdogInterval {
                // Half the interval, as sd_watchdog_enabled(3) advises; only while the loop is alive.
                Self.every(interval / 2, in: &group) { if watch.isAlive() { notifier.watchdog() } }
                notifier.watchdog()
            }
            var stopping = false
            for await command in commands {
                if case .shutdown = command {
                    stopping = true
                    core.stopping = true
                } else if stopping {
                    // Results of work in flight are recorded; requests are told the agent stops.
                    switch command {
                    case .homeWorkDone, .request: _ = await watch.command { await core.run(command, status: status) }
                    default: break
                    }
                } else {
                    let timers = await watch.command { await core.run(command, status: status) }
                    for timer in timers {
                        group.addTask {
                            try? await Task.sleep(for: timer.delay)
                            input.yield(timer.command)
                        }
                    }
                }
                if stopping && !core.homeWorkInFlight { break }
            }
            group.cancelAll()
        }
    }

    /// After `run`: operations parked or waiting are abandoned (whoever waits is told), and
    /// requests read before the stop but not reached are told so rather than cut off.
    func finish() async {
        core.stopping = true
        core.abandonHomeWork()
        input.finish()
        for await command in commands {
            if case .request(let connection) = command { await core.handle(connection) }
        }
    }

    /// Adds a child task that calls `tick` every `interval` until the group is cancelled.
    private static func every(_ interval: Duration, in group: inout TaskGroup<Void>, _ tick: @escaping @Sendable () -> Void) {
        group.addTask {
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                tick()
            }
        }
    }
}
