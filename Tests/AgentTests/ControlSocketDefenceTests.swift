import ControlProtocol
import Foundation
import Glibc
import Testing
import TestSupport
@testable import Agent
@testable import LinuxSystem

/// The control socket's defences, each attacked for real: a request trickled in, a reply never
/// read, a history too big for one reply, a process out of descriptors.
@Suite("control socket defences")
struct ControlSocketDefenceTests {
    static let statusLine = #"{"method":"io.appattach.Manager.Status","parameters":{}}"#

    @Test("a request trickled a byte at a time is dropped at the request deadline, however often its bytes come")
    func trickledRequest() async throws {
        var limits = ControlLimits.standard
        limits.requestDeadline = .milliseconds(1_500)
        let agent = try SocketAgent(limits: limits)
        let path = agent.socketPath
        // A byte every 200 ms and never the newline: every read finds data, so a timeout per
        // read (the old defence) never fires and the connection would be held for good.
        let (answer, took, sent) = await SocketAgent.onThread { () -> (String?, Duration, Int) in
            let started = ContinuousClock.now
            guard let socket = try? UnixSocket.connect(to: path) else { return (nil, .zero, 0) }
            defer { socket.close() }
            try? socket.setReceiveTimeout(.milliseconds(200))
            let request = Array(Self.statusLine.utf8)
            var sent = 0
            while ContinuousClock.now - started < .seconds(6) {
                if sent < request.count {
                    guard request[sent...sent].withUnsafeBytes({ send(socket.descriptor, $0.baseAddress, 1, Int32(MSG_NOSIGNAL)) }) == 1 else { break }
                    sent += 1
                }
                do {
                    guard let line = try socket.readLine() else { break }
                    return (line, ContinuousClock.now - started, sent)
                } catch let error as SystemCallError where error.errno == EAGAIN {
                    continue
                } catch {
                    break
                }
            }
            return (nil, ContinuousClock.now - started, sent)
        }
        #expect(answer?.contains(ControlErrorName.requestTimedOut.rawValue) == true, "\(answer ?? "no answer")")
        #expect(took >= .milliseconds(1_400) && took < .milliseconds(2_500), "dropped at the 1.5 s deadline: \(took)")
        #expect(sent < Self.statusLine.utf8.count, "it was still trickling: \(sent) bytes sent")
        let counts = await agent.waitForCounts { $0.open == 0 }
        #expect(counts.requestsTimedOut == 1 && counts.open == 0 && counts.delivered == 0, "\(counts)")
    }

    @Test("a client that never reads its big history reply holds up nobody: the loop answers others meanwhile, and it is dropped at the reply deadline")
    func slowReader() async throws {
        var limits = ControlLimits.standard
        limits.replyDeadline = .seconds(5)
        let agent = try SocketAgent(limits: limits)
        // A page of 1,000 events of 700 bytes: about 800 kB, four times what the socket buffers.
        try fillEvents(agent.database, count: 3_000, uid: getuid(), messageBytes: 700)
        let request = try ControlCoding.line(ControlRequest(method: .history, parameters: HistoryParameters(limit: 1_000)))
        // On a thread of its own from here: the other suites in this process keep the
        // cooperative pool busy, and the test must not miss a deadline waiting for it.
        let outcome = await SocketAgent.onThread { () -> SlowReaderOutcome in
            var outcome = SlowReaderOutcome()
            guard let slow = try? UnixSocket.connect(to: agent.socketPath) else { return outcome }
            defer { slow.close() }
            try? slow.writeLine(request)
            outcome.writing = agent.waitForCountsNow { $0.writing == 1 }
            // Meanwhile the loop answers everyone else, each well within the slow reader's 5 s.
            for _ in 0..<5 {
                let (result, took) = agent.callNow(.status, StatusParameters(), reply: StatusReply.self, timeout: .seconds(3))
                if (try? result.get()) != nil { outcome.answered += 1 }
                outcome.slowest = max(outcome.slowest, took)
            }
            outcome.beforeDeadline = agent.server.counts
            outcome.dropped = agent.waitForCountsNow(within: .seconds(8)) { $0.repliesTimedOut == 1 && $0.open == 0 }
            // What it gets now is a part of the reply, then the end: never the whole line.
            try? slow.setReceiveTimeout(.seconds(2))
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = chunk.withUnsafeMutableBytes { recv(slow.descriptor, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                outcome.received += chunk[..<n]
            }
            return outcome
        }
        #expect(outcome.writing.writing == 1, "the reply is being written and not taken: \(outcome.writing)")
        #expect(outcome.answered == 5 && outcome.slowest < .milliseconds(2_500), "status during the slow read: \(outcome.answered) answered, the slowest in \(outcome.slowest)")
        #expect(outcome.beforeDeadline.repliesTimedOut == 0, "answered while the slow reader still held its reply: \(outcome.beforeDeadline)")
        #expect(agent.longestHandleTime < .seconds(1), "the loop never waited for the slow reader: \(agent.longestHandleTime)")
        #expect(outcome.dropped.repliesTimedOut == 1 && outcome.dropped.open == 0, "dropped at the 5 s reply deadline: \(outcome.dropped)")
        #expect(!outcome.received.isEmpty && !outcome.received.contains(0x0A), "\(outcome.received.count) bytes, no whole line")
        #expect(outcome.received.count < 700 * 1_000, "\(outcome.received.count) bytes of a reply of about 800 kB")
        print("slow reader of a history page: five Status answered meanwhile, the slowest in \(outcome.slowest); the loop's longest request \(agent.longestHandleTime); the slow reader got \(outcome.received.count) bytes before it was dropped")
    }

    /// What the slow reader's test saw, on its thread.
    struct SlowReaderOutcome: Sendable {
        var writing = ControlSocketCounts()
        var answered = 0
        var slowest = Duration.zero
        var beforeDeadline = ControlSocketCounts()
        var dropped = ControlSocketCounts()
        var received: [UInt8] = []
    }

    @Test("history comes in pages of at most 1,000 events and 1 MiB; next goes on where a page ended, and the pages join up to all of it")
    func historyPaging() async throws {
        let agent = try SocketAgent()
        let uid = getuid()
        try fillEvents(agent.database, count: 2_500, uid: uid, messageBytes: 100)
        let first = try await agent.call(.history, HistoryParameters(limit: 5_000), reply: HistoryReply.self).result.get()
        #expect(first.events.count == HistoryParameters.maximumLimit && first.next != nil)
        var events = first.events
        var next = first.next
        while let before = next {
            let page = try await agent.call(.history, HistoryParameters(limit: 1_000, before: before), reply: HistoryReply.self).result.get()
            #expect(page.events.count <= 1_000)
            events = page.events + events
            next = page.next
        }
        // Exactly what the database holds for the caller, in its order, each event once.
        let expected = try agent.database.lastEvents(10_000, uid: uid == 0 ? nil : uid).map(\.id)
        #expect(events.count == expected.count && events.map(\.id) == expected, "\(events.count) events paged, \(expected.count) in the database")
        #expect(events.filter { $0.kind == "registered" }.count == 2_500)

        // Long events: the page is cut at 1 MiB, and says where the rest goes on.
        try fillEvents(agent.database, count: 1_000, uid: uid, messageBytes: 4_000)
        let (long, _) = await agent.call(.history, HistoryParameters(limit: 1_000), reply: HistoryReply.self)
        let page = try long.get()
        #expect(page.events.count < 1_000 && page.events.count > 100 && page.next == page.events.first?.id, "\(page.events.count) events")
        #expect(try ControlCoding.line(page).utf8.count < (1 << 20) + 4_096)

        let (unknown, _) = await agent.call(.history, HistoryParameters(limit: 10, before: 999_999_999), reply: HistoryReply.self)
        #expect(throws: ControlClientError.self) { try unknown.get() }
        #expect("\(unknown)".contains("no event 999999999"), "\(unknown)")
    }

    @Test("appattachctl history -n: small N in one call as before; more than a page gathered from pages, oldest first")
    func commandLinePaging() async throws {
        let agent = try SocketAgent()
        try fillEvents(agent.database, count: 2_300, uid: getuid(), messageBytes: 60)
        let binary = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            .deletingLastPathComponent().appendingPathComponent("appattachctl").path
        let path = agent.socketPath
        for count in [3, 2_100] {
            let (status, output) = await SocketAgent.onThread { () -> (Int32, Data) in
                let process = Process()
                process.executableURL = URL(fileURLWithPath: binary)
                process.arguments = ["history", "-n", "\(count)", "--json"]
                process.environment = ["APPATTACH_SOCKET": path, "PATH": "/usr/bin:/bin"]
                let pipe = Pipe()
                process.standardOutput = pipe
                do { try process.run() } catch { return (-1, Data()) }
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                return (process.terminationStatus, data)
            }
            #expect(status == 0)
            let events = try #require(try JSONSerialization.jsonObject(with: output) as? [[String: Any]])
            let ids = events.compactMap { ($0["id"] as? NSNumber)?.int64Value }
            let expected = try agent.database.lastEvents(count, uid: getuid() == 0 ? nil : getuid()).compactMap(\.id)
            #expect(ids.count == count && ids == expected, "-n \(count): \(ids.count) events, the last \(count) of the database's in its order")
        }
    }

    @Test("out of descriptors: the oldest idle connections are closed, new ones are answered at once, never left in the backlog, and requests keep being served")
    func descriptorExhaustion() async throws {
        let probe = try ControlSocketProbe(arguments: ["--nofile", "48", "--per-user", "1000", "--all-users", "1000", "--root", "1000"])
        defer { probe.stop() }

        // 120 idle connections: more than the probe has descriptors.
        let idle = (0..<120).compactMap { _ in try? UnixSocket.connect(to: probe.socketPath, by: .after(.seconds(2))) }
        defer { idle.forEach { $0.close() } }
        #expect(idle.count == 120, "every connect got in: none waits in a full backlog")
        // The probe's Status reports the counts as of its I/O thread's last turn.
        try await Task.sleep(for: .milliseconds(200))
        let status = try probe.call(ControlSocketDefenceTests.statusLine)
        #expect(status.took < .seconds(1) && status.line.contains("parameters"), "served while out of descriptors: \(status)")
        #expect(status.line.contains(#""evicted":"#) && !status.line.contains(#""evicted":0"#), "\(status.line)")
        let oldest = try idle[0].readLine(limit: 4_096, by: .after(.seconds(1)))
        #expect(oldest?.contains("out of descriptors") == true, "the oldest idle one was told and closed: \(oldest ?? "nil")")
        #expect(ProcessResources.descriptors(of: "\(probe.pid)") <= 48)

        // Every descriptor held by a request the loop has not answered: nothing is idle, and
        // new connections are refused at once instead of waiting in the backlog.
        idle.forEach { $0.close() }
        var held: [UnixSocket] = []
        defer { held.forEach { $0.close() } }
        for _ in 0..<60 {
            let socket = try UnixSocket.connect(to: probe.socketPath, by: .after(.seconds(2)))
            // Refused ones were answered and closed already: their write may find the end gone.
            try? socket.writeLine(#"{"method":"io.appattach.Manager.Register","parameters":{}}"#, by: .after(.seconds(2)))
            held.append(socket)
        }
        let refused = try probe.call(ControlSocketDefenceTests.statusLine)
        #expect(refused.took < .seconds(1) && refused.line.contains(ControlErrorName.tooManyConnections.rawValue), "\(refused)")
        let late = try held[59].readLine(limit: 4_096, by: .after(.seconds(1)))
        #expect(late?.contains(ControlErrorName.tooManyConnections.rawValue) == true, "\(late ?? "no answer")")
        // Out of descriptors and idle, the I/O thread waits in poll: it does not spin.
        let ticks = ProcessResources.cpuTicks(of: "\(probe.pid)")
        try await Task.sleep(for: .seconds(1))
        let used = ProcessResources.cpuTicks(of: "\(probe.pid)") - ticks
        #expect(used < 20, "\(used) ticks of CPU in a second while every descriptor is held")

        // The loop answers what it held: descriptors come back and requests are served again.
        probe.release()
        var served: (line: String, took: Duration)?
        for _ in 0..<50 {
            served = try probe.call(ControlSocketDefenceTests.statusLine)
            if served?.line.contains("parameters") == true && served?.line.contains("error") == false { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(served?.line.contains(#""parameters""#) == true && served?.line.contains("error") == false, "\(String(describing: served))")
        #expect(ProcessResources.controlThreads(of: "\(probe.pid)") == 1, "one I/O thread whatever the connections")
    }
}
