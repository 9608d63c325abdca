import Foundation
import Glibc
import HostPool
import Testing
import TestSupport
@testable import Agent

@Suite("host-pool file polling")
struct HostPoolSourceTests {
    /// A scratch share of the test's own, which the test removes.
    let share = TestEnvironment.makeTemporaryDirectory("pool")

    func write(_ text: String) throws {
        try FileManager.default.createDirectory(atPath: share + "/hostpools", withIntermediateDirectories: true)
        try text.write(toFile: share + "/hostpools/pool1.toml", atomically: true, encoding: .utf8)
    }

    static let good = """
        [[package]]
        image = "images/one.vhdx"
        name = "Demo.One_8wekyb3d8bbwe"
        users = ["alice"]
        """

    @Test("first read loads; no change is unchanged; a bad file is refused naming file:line and the good one stays; fixed, it loads")
    func lifecycle() throws {
        defer { try? FileManager.default.removeItem(atPath: share) }
        var source = HostPoolSource(share: share, pool: "pool1")
        try write(Self.good)
        guard case .loaded(let previous) = source.check() else { Issue.record("first read should load"); return }
        #expect(previous == nil)
        #expect(source.definition?.packages.count == 1)
        guard case .unchanged = source.check() else { Issue.record("nothing changed"); return }

        try write(Self.good + "\nregistration = \"eager\"\n")
        guard case .rejected(let error) = source.check() else { Issue.record("a bad file must be refused"); return }
        #expect(error.description.hasPrefix("hostpools/pool1.toml:5:"), "\(error)")
        #expect(source.definition?.packages.count == 1, "the last good definition stays in force")
        #expect(source.problem != nil)
        guard case .unchanged = source.check() else { Issue.record("a refused file is reported once"); return }

        try write(Self.good + "\n[[package]]\nimage = \"images/two.vhdx\"\nname = \"Demo.Two_8wekyb3d8bbwe\"\n")
        guard case .loaded(let replaced) = source.check() else { Issue.record("the fixed file should load"); return }
        #expect(replaced?.packages.count == 1)
        #expect(source.definition?.packages.count == 2)
        #expect(source.problem == nil)
    }

    @Test("a missing file is refused once; the agent keeps what it had")
    func missing() {
        defer { try? FileManager.default.removeItem(atPath: share) }
        var source = HostPoolSource(share: share, pool: "pool1")
        guard case .rejected = source.check() else { Issue.record("a missing file is a problem"); return }
        guard case .unchanged = source.check() else { Issue.record("and it is reported once"); return }
        #expect(source.definition == nil)
    }

    @Test("a file that cannot be read is reported once, read again at every check, and loads once it can be read")
    func unreadable() throws {
        defer { try? FileManager.default.removeItem(atPath: share) }
        // A directory where the file should be: opening works, reading fails (EISDIR), as a
        // read fails on a share that hiccups.
        try FileManager.default.createDirectory(atPath: share + "/hostpools/pool1.toml", withIntermediateDirectories: true)
        var source = HostPoolSource(share: share, pool: "pool1")
        guard case .rejected(let error) = source.check() else { Issue.record("an unreadable file is a problem"); return }
        #expect(error.unreadable, "\(error)")
        guard case .unchanged = source.check() else { Issue.record("the same failure again is not reported again"); return }
        #expect(source.definition == nil)
        try FileManager.default.removeItem(atPath: share + "/hostpools/pool1.toml")
        try write(Self.good)
        guard case .loaded(let previous) = source.check() else { Issue.record("readable again, it loads"); return }
        #expect(previous == nil)
        #expect(source.problem == nil)
    }

    @Test("a FIFO where the file should be is refused at once, not waited on")
    func fifo() throws {
        defer { try? FileManager.default.removeItem(atPath: share) }
        try FileManager.default.createDirectory(atPath: share + "/hostpools", withIntermediateDirectories: true)
        #expect(mkfifo(share + "/hostpools/pool1.toml", 0o644) == 0)
        var source = HostPoolSource(share: share, pool: "pool1")
        let started = ContinuousClock.now
        guard case .rejected(let error) = source.check() else { Issue.record("a FIFO is not a host-pool file"); return }
        #expect(ContinuousClock.now - started < .seconds(1))
        #expect(error.description == "hostpools/pool1.toml: is not a regular file" && error.unreadable, "\(error)")
    }

    @Test("a file that was read and refused is not an unreadable one")
    func refusedIsReadable() throws {
        defer { try? FileManager.default.removeItem(atPath: share) }
        try write("[[package]]\nimage = 1\n")
        var source = HostPoolSource(share: share, pool: "pool1")
        guard case .rejected(let error) = source.check() else { Issue.record("a bad file is refused"); return }
        #expect(!error.unreadable, "\(error)")
    }
}

/// The loop's look at the host-pool file runs off the loop: a share that does not answer
/// holds up no command; later polls wait for the look under way; the journal says once that
/// the share does not answer, and once that it answers again; then the pool comes into force.
@Suite("host-pool file read off the loop")
struct HostPoolPollTests {
    @Test("a share that does not answer: the loop goes on, one look at a time, reported once; answered, the pool is in force")
    func silentShare() async throws {
        let dir = TestEnvironment.makeTemporaryDirectory("poll")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = HostConfig(share: .init(path: dir + "/share"), pool: "pool1", stateDirectory: dir + "/state", runtimeDirectory: dir + "/run")
        config.signaturePolicy = .optional
        config.reportToShare = false
        config.metricsTextfile = nil
        var settings = AgentSettings(config: config, configPath: dir + "/appattach.toml")
        settings.shareAnswerDeadline = .milliseconds(200)
        try FileManager.default.createDirectory(atPath: dir + "/share/hostpools", withIntermediateDirectories: true)
        try HostPoolSourceTests.good.write(toFile: dir + "/share/hostpools/pool1.toml", atomically: true, encoding: .utf8)
        let log = CapturedLog()
        let core = try AgentCore.open(settings: settings, logger: log.logger).core
        let arrived = Shared<[HostPoolSource.Read]>([])
        core.enqueue = { command in if case .hostPoolRead(let read) = command { arrived.value.append(read) } }
        let gate = DispatchSemaphore(value: 0)
        let reads = Shared(0)
        core.beforeShareRead = { reads.value += 1; gate.wait() }

        let started = ContinuousClock.now
        core.startHostPoolRead()
        #expect(ContinuousClock.now - started < .milliseconds(100), "the loop does not wait for the share")
        try await Task.sleep(for: .milliseconds(300))
        core.startHostPoolRead()
        core.startHostPoolRead()
        #expect(reads.value == 1, "one look at a time")
        #expect(log.matching(.error, containing: "the share does not answer").count == 1)
        #expect(core.hostPool.definition == nil && arrived.value.isEmpty)

        gate.signal()
        while arrived.value.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        core.hostPoolReadDone(arrived.value[0], status: nil)
        #expect(core.hostPool.definition?.packages.count == 1)
        #expect(log.matching(.notice, containing: "the share answers again").count == 1)
        // The next poll looks again.
        core.startHostPoolRead()
        gate.signal()
        while arrived.value.count < 2 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(reads.value == 2)
    }
}
