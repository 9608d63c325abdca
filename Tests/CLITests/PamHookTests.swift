import Foundation
import Glibc
import Testing
import TestSupport

/// `appattachctl pam-hook`, the built binary, against agents that are stuck in every way an
/// agent can be: it exits 0 (a sign-in never fails for it) within the logon timeout of its
/// config, from its start to its exit. Run as root, it also runs in a private mount namespace
/// whose /dev/log is a socket of the test's, so that what it says in the system log is read.
@Suite("pam-hook bounded by the logon timeout")
struct PamHookTests {
    /// A stand-in for the agent, in a process of its own: `full-backlog` listens with a
    /// backlog of one and fills it with connections it holds, and never accepts; `never-answers`
    /// accepts and holds every connection and reads nothing; `trickles` reads the request and
    /// sends a reply that never ends, a byte every 300 ms; `answers` answers at once.
    static let agent = #"""
        import os, socket, sys, time
        path, mode = sys.argv[1], sys.argv[2]
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(path)
        os.chmod(path, 0o666)
        listener.listen(1)
        held = []
        if mode == "full-backlog":
            while True:
                s = socket.socket(socket.AF_UNIX)
                s.setblocking(False)
                try:
                    s.connect(path)
                    held.append(s)
                except BlockingIOError:
                    s.close()
                    break
            print("ready", len(held), flush=True)
            time.sleep(3600)
        print("ready", flush=True)
        while True:
            connection, _ = listener.accept()
            held.append(connection)
            if mode == "never-answers":
                continue
            connection.recv(65536)
            if mode == "answers":
                connection.sendall(b'{"parameters":{"user":"someone","uid":4242,"packages":["Demo.App_1.0.0.0_neutral__8wekyb3d8bbwe"],"done":true}}\n')
                continue
            for byte in b'{"parameters":{"user":"someone","uid":4242,"packages":[':
                connection.send(bytes([byte]))
                time.sleep(0.3)
        """#

    /// What one run of the hook did.
    struct Run {
        var status: Int32
        var took: Duration
        /// What it sent to the system log, when the test could see it (as root).
        var log: String?
    }

    /// Runs the hook for `PAM_USER=someone` at sign-in against `mode`'s agent, with a
    /// logon timeout of `timeout` seconds.
    static func run(against mode: String, timeout: Int = 2) throws -> Run {
        let dir = TestEnvironment.makeTemporaryDirectory("pamhook")
        defer { TestEnvironment.removeTemporaryDirectory(dir) }
        let socket = dir + "/io.appattach.Manager"
        let config = dir + "/appattach.toml"
        try """
            pool = "pool1"
            [share]
            path = "\(dir)/share"
            [registration]
            logon_timeout_seconds = \(timeout)
            """.write(toFile: config, atomically: true, encoding: .utf8)

        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        agent.arguments = ["-c", Self.agent, socket, mode]
        let said = Pipe()
        agent.standardOutput = said
        agent.standardError = FileHandle.nullDevice
        try agent.run()
        let agentPID = agent.processIdentifier
        defer {
            kill(agentPID, SIGKILL)
            agent.waitUntilExit()
        }
        let ready = String(decoding: said.fileHandleForReading.availableData, as: UTF8.self)
        guard ready.hasPrefix("ready") else { throw TestFailure("the \(mode) agent did not start: \(ready)") }

        // As root: a private mount namespace whose /dev/log is the test's socket.
        let systemLog = TestEnvironment.isRoot && TestEnvironment.hasTool("unshare") ? try SystemLogCapture(at: dir + "/log") : nil
        let hook = Process()
        if let systemLog {
            hook.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
            hook.arguments = ["--mount", "--propagation", "private", "sh", "-c",
                              #"mount -t tmpfs -o mode=755 appattach-test /dev && : >/dev/log && mount --bind "$0" /dev/log && exec "$@""#,
                              systemLog.path, CommandLineTests.binary, "pam-hook", "--config", config]
        } else {
            hook.executableURL = URL(fileURLWithPath: CommandLineTests.binary)
            hook.arguments = ["pam-hook", "--config", config]
        }
        hook.environment = ["APPATTACH_SOCKET": socket, "PAM_TYPE": "open_session", "PAM_USER": "someone",
                            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        hook.standardOutput = FileHandle.nullDevice
        hook.standardError = FileHandle.nullDevice
        let started = ContinuousClock.now
        try hook.run()
        hook.waitUntilExit()
        let took = ContinuousClock.now - started
        let log = systemLog?.messages().joined(separator: "\n")
        print("pam-hook against an agent that \(mode): exit \(hook.terminationStatus) after \(took); system log: \(log ?? "not seen (not root)")")
        return Run(status: hook.terminationStatus, took: took, log: log)
    }

    @Test("the agent's connection queue is full (it never accepts): exit 0 within the 2 s logon timeout, not a wait for ever in connect")
    func fullBacklog() async throws {
        try await TestEnvironment.onOwnThread {
            let run = try Self.run(against: "full-backlog")
            #expect(run.status == 0)
            #expect(run.took >= .milliseconds(1_500) && run.took < .milliseconds(2_500), "\(run.took)")
            if let log = run.log {
                #expect(log.contains("sign-in of someone goes on without waiting for app registration") && log.contains("connection queue stayed full"), "\(log)")
            }
        }
    }

    @Test("the agent accepts and never reads nor answers: exit 0 within the 2 s logon timeout")
    func neverAnswers() async throws {
        try await TestEnvironment.onOwnThread {
            let run = try Self.run(against: "never-answers")
            #expect(run.status == 0)
            #expect(run.took >= .milliseconds(1_500) && run.took < .milliseconds(2_500), "\(run.took)")
            if let log = run.log {
                #expect(log.contains("no answer from the appattach agent within"), "\(log)")
            }
        }
    }

    @Test("the agent sends its reply a byte at a time: the deadline is the whole exchange's, not each read's: exit 0 within 2 s")
    func tricklingReply() async throws {
        try await TestEnvironment.onOwnThread {
            let run = try Self.run(against: "trickles")
            #expect(run.status == 0)
            #expect(run.took >= .milliseconds(1_500) && run.took < .milliseconds(2_500), "\(run.took)")
            if let log = run.log {
                #expect(log.contains("no answer from the appattach agent within"), "\(log)")
            }
        }
    }

    @Test("an agent that answers: exit 0 at once, and the log says what was registered")
    func answers() async throws {
        try await TestEnvironment.onOwnThread {
            let run = try Self.run(against: "answers")
            #expect(run.status == 0)
            #expect(run.took < .seconds(1), "\(run.took)")
            if let log = run.log {
                #expect(log.contains("registered 1 package(s) for someone at sign-in"), "\(log)")
            }
        }
    }
}

/// A datagram socket standing in for /dev/log: what syslog(3) sends to it is kept.
final class SystemLogCapture {
    let path: String
    private let descriptor: Int32

    init(at path: String) throws {
        self.path = path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            close(descriptor)
            throw TestFailure("bind \(path): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(descriptor) }

    /// The messages received so far.
    func messages() -> [String] {
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 8_192)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            guard n > 0 else { return messages }
            messages.append(String(decoding: buffer[..<n], as: UTF8.self))
        }
    }
}
