import ControlProtocol
import Expand
import Foundation
import Glibc
import HostPool
import Logging
import MSIX
import StateStore
import Systemd
import Testing
import TestSupport
@testable import Agent
@testable import LinuxSystem

/// What the loop told "systemd": when `READY=1` came, and every `WATCHDOG=1`.
final class RecordingNotifier: AgentNotifying, @unchecked Sendable {
    let watchdogInterval: Duration?
    private let lock = NSLock()
    private var readyTime: ContinuousClock.Instant?
    private var pings: [ContinuousClock.Instant] = []

    init(watchdogInterval: Duration?) { self.watchdogInterval = watchdogInterval }

    func ready(status: String?) -> Bool { lock.withLock { readyTime = .now }; return true }
    func status(_ text: String) -> Bool { true }
    func watchdog() -> Bool { lock.withLock { pings.append(.now) }; return true }

    var readyAt: ContinuousClock.Instant? { lock.withLock { readyTime } }

    /// The longest time without a ping between `from` and `to`: what systemd's watchdog
    /// would have seen.
    func longestSilence(from: ContinuousClock.Instant, to: ContinuousClock.Instant = .now) -> Duration {
        let times = [from] + lock.withLock { pings }.filter { $0 > from && $0 < to } + [to]
        return zip(times, times.dropFirst()).map { $1 - $0 }.max() ?? .zero
    }
}

/// A flag behind a lock.
final class NSLockedBool: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func withLock<T>(_ body: (inout Bool) -> T) -> T { lock.withLock { body(&value) } }
}

/// Lets a value the test hands to the loop's task cross into it; the test then touches it only
/// through the loop (commands, requests) or through what is thread-safe (the log, the database).
struct Unchecked<Value>: @unchecked Sendable {
    let value: Value
}

/// An agent running its real event loop (`AgentLoop.serve`, as `Agent.run` does after logind),
/// with a real control socket, a real state database, and a host pool that assigns the
/// CentennialCoffee package (expanded here into an EROFS image and staged for real) to the
/// users given. Requests go through the socket; sign-ins and sign-outs are logind events put
/// on the loop's queue. `stop()` in a `defer`: it stops the loop and unmounts what it staged.
final class LoopedAgent: @unchecked Sendable {
    let directory: String
    let log = CapturedLog()
    let notifier: RecordingNotifier
    let core: AgentCore
    let loop: AgentLoop
    let server: ControlServer
    let family: String
    let fullName: String
    let threadLabel = "uf" + String(UInt16.random(in: 0x1000...0xFFFF), radix: 16)
    private let enqueue: @Sendable (AgentCommand) -> Void

    /// `directory`: the test's, which holds the homes too; `users`: assigned the package with
    /// `registration` (`regular` restores app data at sign-in). `adjust` changes the settings.
    init(directory: String, users: [TestUser], registration: String = "regular", watchdogInterval: Duration? = .seconds(2),
         adjust: (inout AgentSettings) -> Void = { _ in }) throws {
        self.directory = directory
        notifier = RecordingNotifier(watchdogInterval: watchdogInterval)
        chmod(directory, 0o755)
        let share = directory + "/share"
        try FileManager.default.createDirectory(atPath: share + "/images", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: share + "/hostpools", withIntermediateDirectories: true)
        let package = TestEnvironment.msixFixtures + "/CentennialCoffee.appx"
        let identity = try MSIXPackage.open(package).manifest.identity
        family = identity.familyName
        fullName = identity.fullName
        _ = try Expand(ExpandOptions(packages: [package], output: share + "/images/coffee.erofs", format: .erofs,
                                     filesystem: .erofs, rootDirectory: "apps")).run()
        let names = users.map { "\"\($0.account.name)\"" }.joined(separator: ", ")
        try """
            [[package]]
            image = "images/coffee.erofs"
            name = "\(family)"
            registration = "\(registration)"
            users = [\(names)]
            """.write(toFile: share + "/hostpools/pool1.toml", atomically: true, encoding: .utf8)
        var config = HostConfig(share: .init(path: share), pool: "pool1", stateDirectory: directory + "/state",
                                runtimeDirectory: directory + "/run")
        // Unsigned test packages: signatures are PackageTrust's and SignaturePolicyTests' concern.
        config.signaturePolicy = .optional
        config.deregistrationGraceSeconds = 0
        var settings = AgentSettings(config: config, configPath: directory + "/appattach.toml")
        settings.userFileThreadLabel = threadLabel
        adjust(&settings)
        try FileManager.default.createDirectory(atPath: config.runtimeDirectory, withIntermediateDirectories: true)
        let database = try StateDatabase.open(directory: config.stateDirectory)
        // As StateDirectoryMode=0711 leaves it: users reach their own users/<uid>.
        chmod(config.stateDirectory, 0o711)
        core = AgentCore(settings: settings, database: database, logger: log.logger)
        // Staged before the loop, as at a start.
        core.refreshHostPool()
        loop = AgentLoop(core: core, watchdogInterval: watchdogInterval)
        let enqueue = loop.enqueue
        self.enqueue = enqueue
        server = try ControlServer(path: settings.socketPath, logger: log.logger) { enqueue(.request($0)) }
        server.start()
    }

    /// Serves: `READY=1`, the start-up work for `initialSessions`, then the loop.
    func start(initialSessions: [LogindSession] = []) {
        let loop = Unchecked(value: loop), notifier = notifier, finished = finished
        Task.detached {
            await loop.value.serve(notifier: notifier, status: StatusPublisher(notifier: notifier), initialSessions: initialSessions,
                                   events: nil, periodic: [])
            await loop.value.finish()
            finished.withLock { $0 = true }
        }
    }

    private let finished = NSLockedBool()

    /// Puts `command` on the loop's queue.
    func send(_ command: AgentCommand) { enqueue(command) }

    /// Stops the loop (as SIGTERM does) and waits for it without blocking a thread (work in
    /// flight comes back by its deadline), then unmounts what was staged. At the end of a test.
    func stop() async {
        server.stop()
        enqueue(.shutdown)
        let end = ContinuousClock.now + .seconds(60)
        while !finished.withLock({ $0 }) && ContinuousClock.now < end { try? await Task.sleep(for: .milliseconds(50)) }
        if !finished.withLock({ $0 }) { Issue.record("the loop did not stop within 60 s") }
        while !core.desktopData.isIdle && ContinuousClock.now < end { try? await Task.sleep(for: .milliseconds(20)) }
        unmountStaged()
    }

    /// For a `defer`, after `stop()` or when a test ended early: stops the loop without waiting
    /// (no thread of the test's is blocked), and unmounts and detaches what was staged below
    /// the directory. The caller removes the directory.
    func tearDown() {
        server.stop()
        enqueue(.shutdown)
        unmountStaged()
    }

    private func unmountStaged() {
        // The shared desktop data is written below the directory too, off the loop (`stop`
        // waited for it without blocking; a test that ended early waits here).
        if !core.desktopData.waitUntilIdle() { Issue.record("the desktop data was still being published after 30 s") }
        for entry in ((try? MountTable.read()) ?? []).reversed() where entry.mountPoint.hasPrefix(directory + "/run/") {
            umount2(entry.mountPoint, 0)
        }
        for device in LoopDeviceTable.read() where device.backingFile.hasPrefix(directory + "/") {
            _ = try? TestEnvironment.run(["losetup", "-d", device.path])
        }
    }

    /// A session of `user` as logind reports it.
    static func session(_ id: String, _ user: TestUser) -> LogindSession {
        LogindSession(id: id, uid: user.account.uid, userName: user.account.name, sessionClass: .user, state: .active)
    }

    /// `user` signs in with session `id` (a logind event on the loop's queue).
    func signIn(_ user: TestUser, session id: String) { enqueue(.logind(.sessionAdded(Self.session(id, user)))) }

    /// Session `id` ends.
    func signOut(session id: String) { enqueue(.logind(.sessionRemoved(sessionID: id))) }

    /// Calls `method` as root over the socket, on a thread of its own; returns the reply (or the
    /// error) and how long the answer took.
    func call<P: Codable & Sendable, R: Codable & Sendable>(_ method: ControlMethod, _ parameters: P, reply: R.Type,
                                                           timeout: Duration = .seconds(120)) async -> (Result<R, any Error>, Duration) {
        let path = core.settings.socketPath
        return await withCheckedContinuation { continuation in
            let thread = Thread {
                let started = ContinuousClock.now
                let result = Result { try ControlClient(path: path, timeout: timeout).call(method, parameters, as: R.self) }
                continuation.resume(returning: (result, ContinuousClock.now - started))
            }
            thread.start()
        }
    }

    /// `Status` as root, with how long it took to answer.
    func status() async throws -> (StatusReply, Duration) {
        let (result, took) = await call(.status, StatusParameters(), reply: StatusReply.self, timeout: .seconds(10))
        return (try result.get(), took)
    }

    /// Polls `condition` every 50 ms until it holds or `limit` passes; true when it held.
    func eventually(within limit: Duration = .seconds(30), _ condition: () async throws -> Bool) async rethrows -> Bool {
        let end = ContinuousClock.now + limit
        while ContinuousClock.now < end {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }

    /// Asks for `Status` every 100 ms while `body` runs; returns what `body` returned, the
    /// slowest answer (how long the loop kept a request waiting meanwhile) and how many.
    func whileAsking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> (T, slowest: Duration, asked: Int) {
        let outcome = Outcome<T>()
        Task {
            do { outcome.set(.success(try await body())) } catch { outcome.set(.failure(error)) }
        }
        var slowest = Duration.zero, asked = 0
        while outcome.get() == nil {
            let (_, took) = try await status()
            slowest = max(slowest, took)
            asked += 1
            try await Task.sleep(for: .milliseconds(100))
        }
        return (try outcome.get()!.get(), slowest, asked)
    }

    /// The threads of the agent's `UserFiles` pool, by name, from `/proc/self/task`.
    var workerThreads: [(tid: String, state: String, wchan: String)] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap { tid in
            let base = "/proc/self/task/\(tid)"
            // The workers, not the pool's deadline watcher (`<label>-watch`).
            guard let name = (try? String(contentsOfFile: base + "/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines),
                  name.hasPrefix(threadLabel + "-"), !name.hasSuffix("-watch") else { return nil }
            let stat = (try? String(contentsOfFile: base + "/stat", encoding: .utf8)) ?? ""
            let state = stat.split(separator: ")").last.map { String($0.dropFirst().prefix(1)) } ?? "?"
            let wchan = (try? String(contentsOfFile: base + "/wchan", encoding: .utf8)) ?? "?"
            return (tid, state, wchan)
        }
    }

    /// The journal entries of `event` about `user`.
    func events(_ event: AgentEvent, of user: TestUser) -> [CapturedLog.Entry] {
        log.events(event).filter { $0.field("appattach.user") == user.account.name }
    }
}

/// The outcome of work running elsewhere, once it is there.
final class Outcome<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Result<T, any Error>?
    func set(_ result: Result<T, any Error>) { lock.withLock { if value == nil { value = result } } }
    func get() -> Result<T, any Error>? { lock.withLock { value } }
}

/// Runs `body`, waiting for it at most `limit`; true when it finished in time. The body goes
/// on in the background when it did not.
func within(_ limit: Duration, _ body: @escaping @Sendable () async -> Void) async -> Bool {
    let outcome = Outcome<Bool>()
    Task { await body(); outcome.set(.success(true)) }
    let end = ContinuousClock.now + limit
    while outcome.get() == nil && ContinuousClock.now < end { try? await Task.sleep(for: .milliseconds(20)) }
    return (try? outcome.get()?.get()) ?? false
}

/// A FUSE file system whose server never answers, mounted by root at `path` for `owner`:
/// the kernel sends its `INIT` and waits for ever, so every access below the mount (a
/// `stat` of its root, an open) blocks in the kernel, as with a user's FUSE server that hangs.
/// `release()` (in a `defer`) aborts the connection, which fails every blocked call with
/// `ENOTCONN`, and unmounts.
final class SilentFUSE {
    let path: String
    private var descriptor: Int32
    private var mounted = false

    init(at path: String, owner: UserAccount) throws {
        self.path = path
        descriptor = open("/dev/fuse", O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemCallError("open", "/dev/fuse") }
        let options = "fd=\(descriptor),rootmode=40000,user_id=\(owner.uid),group_id=\(owner.gid),allow_other"
        guard mount("appattach-test-silent", path, "fuse", UInt(MS_NOSUID | MS_NODEV), options) == 0 else {
            let error = SystemCallError("mount (fuse)", path)
            close(descriptor)
            throw error
        }
        mounted = true
    }

    /// Takes the mount out of the namespace first (new lookups see the directory beneath),
    /// then aborts the connection: calls blocked in it return.
    func release() {
        if mounted { umount2(path, Int32(MNT_DETACH)) }
        mounted = false
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
    }

    deinit { release() }
}
