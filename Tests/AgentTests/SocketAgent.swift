import ControlProtocol
import Foundation
import Glibc
import HostPool
import Logging
import StateStore
import Synchronization
import Testing
import TestSupport
@testable import Agent
@testable import LinuxSystem

/// An agent core behind a real `ControlServer` on a real socket, with the caps and deadlines a
/// test gives, and a pump that handles every request as it arrives, one at a time, the way
/// the event loop does: clients are real connections (the real `ControlClient`, or raw
/// sockets that misbehave), from threads of their own or other processes.
///
/// The pump runs on a thread of its own (``ThreadExecutor``), not the cooperative pool: the
/// other suites in this process block the pool's few threads with process runs, and a test
/// that times answers must time the socket and the core, not them.
final class SocketAgent: Sendable {
    let directory: String
    let server: ControlServer
    let database: StateDatabase
    let socketPath: String
    private let pump: Task<Void, Never>
    private let executor = ThreadExecutor()
    private let input: AsyncStream<ControlConnection>.Continuation
    /// The longest one request kept the pump (the loop) busy.
    private let longestHandle = LongestTime()

    init(limits: ControlLimits = .standard) throws {
        let directory = TestEnvironment.makeTemporaryDirectory("socket")
        // Traversable by other users, like /run/appattach.
        chmod(directory, 0o755)
        var config = HostConfig(share: .init(path: directory + "/share"), pool: "pool1",
                                stateDirectory: directory + "/state", runtimeDirectory: directory + "/run")
        // Unsigned test packages: signatures are PackageTrust's and SignaturePolicyTests' concern.
        config.signaturePolicy = .optional
        config.logonTimeoutSeconds = 5
        let settings = AgentSettings(config: config, configPath: directory + "/appattach.toml")
        let logger = Logger(label: "appattachd-test") { _ in SwiftLogNoOpLogHandler() }
        let core: AgentCore
        do {
            try FileManager.default.createDirectory(atPath: config.runtimeDirectory, withIntermediateDirectories: true)
            database = try StateDatabase.open(directory: config.stateDirectory)
            core = AgentCore(settings: settings, database: database, logger: logger)
            core.refreshHostPool()
            let (stream, input) = AsyncStream.makeStream(of: ControlConnection.self)
            server = try ControlServer(path: settings.socketPath, limits: limits, logger: logger) { input.yield($0) }
            self.input = input
            let longest = longestHandle
            pump = Task(executorPreference: executor) { [core] in
                for await connection in stream {
                    let started = ContinuousClock.now
                    await core.handle(connection)
                    let took = ContinuousClock.now - started
                    longest.value.withLock { $0 = max($0, took) }
                }
            }
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        self.directory = directory
        socketPath = settings.socketPath
        server.start()
    }

    deinit {
        server.stop()
        input.finish()
        pump.cancel()
        executor.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The longest any request has kept the pump busy so far.
    var longestHandleTime: Duration { longestHandle.value.withLock { $0 } }

    /// Calls `method` with the real client from a thread of its own, as root or (run as root)
    /// as `user`; returns the reply or the error, and how long the call took.
    func call<P: Codable & Sendable, R: Codable & Sendable>(_ method: ControlMethod, _ parameters: P, reply: R.Type,
                                                           as user: UserAccount? = nil, timeout: Duration = .seconds(10))
        async -> (result: Result<R, any Error>, took: Duration) {
        let client = ControlClient(path: socketPath, timeout: timeout)
        return await Self.onThread(as: user) {
            let started = ContinuousClock.now
            let result = Result { try client.call(method, parameters, as: R.self) }
            return (result, ContinuousClock.now - started)
        }
    }

    /// `call` for code that runs on a thread of its own (``onThread(as:_:)``): no await.
    func callNow<P: Codable & Sendable, R: Codable & Sendable>(_ method: ControlMethod, _ parameters: P, reply: R.Type,
                                                              timeout: Duration = .seconds(10)) -> (result: Result<R, any Error>, took: Duration) {
        let client = ControlClient(path: socketPath, timeout: timeout)
        let started = ContinuousClock.now
        let result = Result { try client.call(method, parameters, as: R.self) }
        return (result, ContinuousClock.now - started)
    }

    /// `waitForCounts` for code that runs on a thread of its own: sleeps, no await.
    @discardableResult
    func waitForCountsNow(within timeout: Duration = .seconds(5), _ condition: (ControlSocketCounts) -> Bool) -> ControlSocketCounts {
        let deadline = ContinuousClock.now + timeout
        while true {
            let counts = server.counts
            if condition(counts) || ContinuousClock.now >= deadline { return counts }
            usleep(10_000)
        }
    }

    /// Waits until the server's counts satisfy `condition`, at most `timeout`; returns the last counts.
    @discardableResult
    func waitForCounts(within timeout: Duration = .seconds(5), _ condition: (ControlSocketCounts) -> Bool) async -> ControlSocketCounts {
        let deadline = ContinuousClock.now + timeout
        while true {
            let counts = server.counts
            if condition(counts) || ContinuousClock.now >= deadline { return counts }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Runs `body` on a thread of its own (blocking socket calls stay off the cooperative
    /// pool), switched to `user`'s ids while it runs if given.
    static func onThread<T: Sendable>(as user: UserAccount? = nil, _ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                let credentials = user.flatMap { try? ThreadCredentials.become($0) }
                let result = body()
                try? credentials?.restore()
                continuation.resume(returning: result)
            }
            thread.start()
        }
    }
}

/// The longest of some durations, shared between tasks.
final class LongestTime: Sendable {
    let value = Mutex<Duration>(.zero)
}

/// What this test process holds, from /proc/self.
enum ProcessResources {
    /// Open descriptors (`/proc/self/fd`).
    static func descriptors(of pid: String = "self") -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).count
    }

    /// This process's descriptors that are sockets of the listening socket at `path`: the
    /// listener and every connection it accepted (`/proc/net/unix` names the path for both:
    /// the one bound, `<path>.new`, which `UnixListener` renames into place), whatever else
    /// the process has open.
    static func socketDescriptors(at path: String) -> Int {
        // Not strict UTF-8: other sockets' abstract names may hold any bytes.
        let table = String(decoding: FileHandle(forReadingAtPath: "/proc/net/unix")?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
        // Num RefCount Protocol Flags Type St Inode Path
        let inodes = Set(table.split(separator: "\n").compactMap { line -> Substring? in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            return fields.count >= 8 && (fields[7] == path || fields[7] == path + ".new") ? fields[6] : nil
        })
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return descriptors.filter { fd in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)"),
                  target.hasPrefix("socket:[") else { return false }
            return inodes.contains(target.dropFirst("socket:[".count).dropLast())
        }.count
    }

    /// Threads (`/proc/self/task`).
    static func threads(of pid: String = "self") -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []).count
    }

    /// CPU time used so far, user and system, in clock ticks (`/proc/<pid>/stat`).
    static func cpuTicks(of pid: String = "self") -> Int {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        // After the command name in parentheses: state is field 3, utime 14, stime 15.
        guard let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return 0 }
        return user + system
    }

    /// Threads named as the control socket's I/O thread (`ControlServer.threadName`).
    static func controlThreads(of pid: String = "self") -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.filter { task in
            let name = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/comm", encoding: .utf8)) ?? ""
            return name.hasPrefix(ControlServer.threadName)
        }.count
    }
}

/// `count` events of `uid` whose messages are `messageBytes` long, written straight into the
/// state database, one second apart, the newest now.
func fillEvents(_ database: StateDatabase, count: Int, uid: UInt32? = nil, messageBytes: Int = 200) throws {
    let start = Date() - Double(count)
    let padding = String(repeating: "x", count: max(messageBytes - 20, 0))
    // In one transaction: one commit, not one per event.
    try database.saveRegistrations([], events: (0..<count).map { index in
        EventRecord(time: start + Double(index), kind: .registered, uid: uid,
                    package: "Demo.App_1.0.0.0_neutral__8wekyb3d8bbwe", message: "event \(index) \(padding)")
    })
}
