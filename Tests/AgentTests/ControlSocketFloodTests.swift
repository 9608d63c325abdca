import ControlProtocol
import Foundation
import Glibc
import Testing
import TestSupport
@testable import Agent
@testable import LinuxSystem

/// Another user floods the control socket, for real, from a process running as `nobody`; root
/// (as the PAM hook of every sign-in is) must still be answered at once, and the agent's
/// descriptors and threads must not grow with the flood.
@Suite("control socket under a flood (root: another uid)", .serialized,
       .enabled(if: TestEnvironment.isRoot && TestEnvironment.hasTool("setpriv") && TestEnvironment.hasUser("nobody"),
                "needs root, setpriv and the account nobody: the flood comes from another uid"))
struct ControlSocketFloodTests {
    /// Opens `count` connections to the socket and writes one byte (never a newline) to each
    /// every second; a connection the agent closed is opened again the next round. Prints
    /// "flooding" once they are open, and its counters when `seconds` have passed.
    static let flooder = #"""
        import json, resource, socket, sys, time
        path, count, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 256), hard))
        stats = {"connects": 0, "refused_connects": 0, "bytes": 0, "closed_by_agent": 0}
        def connect():
            s = socket.socket(socket.AF_UNIX)
            s.setblocking(False)
            try:
                s.connect(path)
                stats["connects"] += 1
                return s
            except OSError:
                stats["refused_connects"] += 1
                s.close()
                return None
        sockets = [connect() for _ in range(count)]
        print("flooding", flush=True)
        end = time.time() + seconds
        while time.time() < end:
            started = time.time()
            for i, s in enumerate(sockets):
                if s is None:
                    sockets[i] = connect()
                    continue
                try:
                    s.send(b"x")
                    stats["bytes"] += 1
                except OSError:
                    stats["closed_by_agent"] += 1
                    s.close()
                    sockets[i] = None
            time.sleep(max(0.0, 1.0 - (time.time() - started)))
        print(json.dumps(stats), flush=True)
        """#

    @Test("1,500 connections of nobody trickling a byte a second: root's requests are answered within 2 s, nobody holds at most 16, descriptors and threads stay bounded")
    func flood() async throws {
        var limits = ControlLimits.standard
        limits.requestDeadline = .seconds(3)
        let agent = try SocketAgent(limits: limits)
        let nobody = try #require(try Accounts.account(named: "nobody"))
        let descriptorsBefore = ProcessResources.descriptors()
        let socketsBefore = ProcessResources.socketDescriptors(at: agent.socketPath)
        let threadsBefore = ProcessResources.threads()

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=\(nobody.uid)", "--regid=\(nobody.gid)", "--clear-groups",
                             "/usr/bin/python3", "-c", Self.flooder, agent.socketPath, "1500", "12"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        defer {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
        let started = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        try #require(started.hasPrefix("flooding"), "the flooder did not start: \(started)")

        // Ten seconds of the flood: root asks every half second, as sign-ins would. On a thread
        // of its own: the other suites keep the cooperative pool busy, and each question must
        // go out on time and be timed alone.
        let nobodyUID = nobody.uid
        let sampled = await SocketAgent.onThread { () -> FloodSamples in
            var samples = FloodSamples()
            let until = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < until {
                let (status, tookStatus) = agent.callNow(.status, StatusParameters(), reply: StatusReply.self, timeout: .seconds(2))
                let (history, tookHistory) = agent.callNow(.history, HistoryParameters(limit: 5), reply: HistoryReply.self, timeout: .seconds(2))
                samples.asked += 2
                if (try? status.get()) != nil { samples.answered += 1 } else { samples.failures.append("\(status)") }
                if (try? history.get()) != nil { samples.answered += 1 } else { samples.failures.append("\(history)") }
                samples.slowest = max(samples.slowest, tookStatus, tookHistory)
                samples.descriptors = max(samples.descriptors, ProcessResources.descriptors())
                samples.sockets = max(samples.sockets, ProcessResources.socketDescriptors(at: agent.socketPath))
                samples.threads = max(samples.threads, ProcessResources.threads())
                samples.nobodyHeld = max(samples.nobodyHeld, agent.server.counts.byUID[nobodyUID] ?? 0)
                usleep(500_000)
            }
            return samples
        }
        let during = agent.server.counts
        kill(pid, SIGKILL)
        process.waitUntilExit()
        let (answered, slowest, nobodyHeld) = (sampled.answered, sampled.slowest, sampled.nobodyHeld)
        let (descriptorsDuring, socketsDuring, threadsDuring) = (sampled.descriptors, sampled.sockets, sampled.threads)

        #expect(sampled.asked >= 20 && answered == sampled.asked, "root asked \(sampled.asked) times, answered \(answered): \(sampled.failures)")
        #expect(slowest < .seconds(2), "root's slowest answer during the flood: \(slowest)")
        #expect(nobodyHeld == 16, "nobody held \(nobodyHeld) connections at most")
        #expect(during.refused > 1_000, "the flood's other connections were refused at once: \(during)")
        #expect(during.requestsTimedOut >= 16, "the trickling ones were dropped at the 3 s deadline: \(during)")
        // Bounded whatever the flood: its 1,500 connections are not 1,500 descriptors or threads.
        // The server's own descriptors exactly: the listener, nobody's 16, root's call in flight.
        #expect(socketsBefore == 1 && socketsDuring <= 1 + 16 + 1, "descriptors of the socket: \(socketsBefore) before, \(socketsDuring) at most during")
        // The whole process's, with the margins of the other suites that run in it meanwhile.
        #expect(descriptorsDuring - descriptorsBefore < 500, "descriptors: \(descriptorsBefore) before, \(descriptorsDuring) at most during")
        // The whole process's threads too; 1,500 connections would be 1,500 threads with one
        // per connection, the other suites' come and go by the dozen.
        #expect(threadsDuring - threadsBefore < 300, "threads: \(threadsBefore) before, \(threadsDuring) at most during")

        let after = await agent.waitForCounts(within: .seconds(5)) { $0.open == 0 }
        #expect(after.open == 0, "every connection of the flood closed: \(after)")
        let socketsAfter = ProcessResources.socketDescriptors(at: agent.socketPath)
        #expect(socketsAfter == 1, "only the listener is left: \(socketsAfter)")
        let descriptorsAfter = ProcessResources.descriptors()
        print("flood of 1,500 connections from nobody: root answered \(answered) times, the slowest in \(slowest); nobody held \(nobodyHeld); \(during.refused) connections refused, \(during.requestsTimedOut) dropped at the request deadline; descriptors of the socket \(socketsBefore)/\(socketsDuring)/\(socketsAfter), of the process \(descriptorsBefore)/\(descriptorsDuring)/\(descriptorsAfter), threads \(threadsBefore)/\(threadsDuring)/\(ProcessResources.threads()) (before/most during/after)")
    }

    /// What the flood test saw, on its thread: root's questions and answers, and the most of
    /// each resource at once.
    struct FloodSamples: Sendable {
        var asked = 0
        var answered = 0
        var failures: [String] = []
        var slowest = Duration.zero
        var descriptors = 0
        var sockets = 0
        var threads = 0
        var nobodyHeld = 0
    }

    @Test("the 17th connection of a uid is answered at once with TooManyConnections; root's are not counted against it")
    func perUserCap() async throws {
        let agent = try SocketAgent()
        let nobody = try #require(try Accounts.account(named: "nobody"))
        let path = agent.socketPath
        let sockets = await SocketAgent.onThread(as: nobody) { (0..<17).compactMap { _ in try? UnixSocket.connect(to: path, by: .after(.seconds(2))) } }
        defer { sockets.forEach { $0.close() } }
        #expect(sockets.count == 17)
        let refused = try sockets[16].readLine(limit: 4_096, by: .after(.seconds(1)))
        #expect(refused?.contains(ControlErrorName.tooManyConnections.rawValue) == true, "\(refused ?? "no answer")")
        #expect(refused?.contains("uid \(nobody.uid) has 16 connections") == true, "the error names the uid and the cap: \(refused ?? "")")
        let held = await agent.waitForCounts { $0.byUID[nobody.uid] == 16 }
        #expect(held.byUID[nobody.uid] == 16, "\(held)")

        // Root is not counted against nobody's cap, nor the users' cap.
        let (status, took) = await agent.call(.status, StatusParameters(), reply: StatusReply.self, timeout: .seconds(2))
        #expect((try? status.get()) != nil && took < .seconds(1), "\(status), \(took)")
        // Once nobody closes its connections, its place is given back.
        sockets.forEach { $0.close() }
        let after = await agent.waitForCounts { $0.open == 0 }
        #expect(after.open == 0 && after.byUID.isEmpty, "\(after)")
        let (again, _) = await agent.call(.status, StatusParameters(), reply: StatusReply.self, as: nobody, timeout: .seconds(2))
        #expect((try? again.get()) != nil, "nobody is served again: \(again)")
    }
}
