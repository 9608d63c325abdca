import Foundation
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

    @Test("a file that was read and refused is not an unreadable one")
    func refusedIsReadable() throws {
        defer { try? FileManager.default.removeItem(atPath: share) }
        try write("[[package]]\nimage = 1\n")
        var source = HostPoolSource(share: share, pool: "pool1")
        guard case .rejected(let error) = source.check() else { Issue.record("a bad file is refused"); return }
        #expect(!error.unreadable, "\(error)")
    }
}
