import Fleet
import Foundation
import Glibc
import Health
import HostPool
import Testing
import TestSupport

@Suite("the host pool seen from the share: host reports and the fleet view")
struct FleetViewTests {
    static let pool = try! HostPoolDefinition.parse("""
        [[package]]
        image = "images/editor-2.vhdx"
        name = "Contoso.Editor_8wekyb3d8bbwe"
        health = "Unhealthy"
        users = ["alice"]

        [[package]]
        image = "images/editor-1.vhdx"
        name = "Contoso.Editor_1.0.0.0_x64__8wekyb3d8bbwe"
        state = "inactive"
        users = ["alice"]
        """, displayName: "hostpools/east.toml")

    static let modified = Date(timeIntervalSince1970: 1_800_000_000)
    static let now = modified.addingTimeInterval(3_600)

    static func report(_ host: String, pool: String = "east", age: TimeInterval, images: [HostReport.Image],
                       problems: [HealthReport.Problem] = [], applied: Date = modified) -> HostReport {
        HostReport(host: host, agentVersion: "0.1.0", pool: pool, health: HealthReport(problems: problems),
                   hostPool: .init(modified: applied, size: 100, appliedAt: now.addingTimeInterval(-age)),
                   hostPoolProblem: nil, images: images, signedInUsers: 1, registeredUsers: 1,
                   reportedAt: now.addingTimeInterval(-age))
    }

    static let v2 = HostReport.Image(id: "img2", image: "images/editor-2.vhdx",
                                     packages: [.init(fullName: "Contoso.Editor_2.0.0.0_x64__8wekyb3d8bbwe", users: 3)])

    @Test("hosts written side by side are read back; the view shows who serves which version, who failed, who is stale")
    func view() throws {
        let share = TestEnvironment.makeTemporaryDirectory("fleet")
        defer { try? FileManager.default.removeItem(atPath: share) }
        let directory = HostReportDirectory(share: share)
        try directory.write(Self.report("host-a", age: 10, images: [Self.v2]))
        try directory.write(Self.report("host-b", age: 20, images: [], problems: [
            .init(package: "Contoso.Editor_8wekyb3d8bbwe", image: "images/editor-2.vhdx", policy: .unhealthy,
                  reason: "cannot stage /mnt/appattach/images/editor-2.vhdx: No such file or directory", since: Self.now)]))
        try directory.write(Self.report("host-c", age: 900, images: [Self.v2]))
        try directory.write(Self.report("host-d", age: 5, images: [], applied: Self.modified.addingTimeInterval(-60)))
        try directory.write(Self.report("other-pool-host", pool: "west", age: 1, images: [Self.v2]))

        let view = FleetView(pool: "east", entries: try directory.readAll(), definition: Self.pool,
                             hostPoolModified: Self.modified, now: Self.now, staleAfter: 300)
        #expect(view.hosts.map(\.host) == ["host-a", "host-b", "host-c", "host-d"], "another pool's host is not this pool's")
        #expect(view.hosts.map(\.stale) == [false, false, true, false])
        #expect(view.hosts.map(\.health) == [.healthy, .unhealthy, .healthy, .healthy])
        #expect(view.hosts.map(\.hostPoolCurrent) == [true, true, true, false], "host-d applied an older file")
        #expect(view.hostsInTrouble.map(\.host) == ["host-b", "host-c"])

        let active = try #require(view.packages.first)
        #expect(active.stagedOn.map(\.host) == ["host-a", "host-c"])
        #expect(active.stagedOn.first?.users == 3)
        #expect(active.failedOn.map(\.host) == ["host-b"])
        #expect(active.notYetOn == ["host-d"], "a fresh host that neither serves nor failed; a stale one is not counted")
        #expect(view.packages.last?.state == .inactive && view.packages.last?.notYetOn == [])

        let text = view.text
        #expect(text.contains("host-c: STALE (last said Healthy), report 15 min old"), "\(text)")
        #expect(text.contains("host-d: Healthy, report 5 s old, agent 0.1.0, pool behind"), "\(text)")
        #expect(text.contains("staged on: host-a 2.0.0.0 (3 users), host-c 2.0.0.0 (3 users)"), "\(text)")
        #expect(text.contains("failed on host-b: cannot stage /mnt/appattach/images/editor-2.vhdx"), "\(text)")
    }

    @Test("what else is in hosts/ is named, never followed or waited on: a FIFO, a link, a directory, garbage, a huge file")
    func hostileFiles() throws {
        let share = TestEnvironment.makeTemporaryDirectory("fleet")
        defer { try? FileManager.default.removeItem(atPath: share) }
        let directory = HostReportDirectory(share: share)
        try directory.write(Self.report("good", age: 1, images: []))
        #expect(mkfifo(directory.path + "/fifo.json", 0o644) == 0)
        try "{}".write(toFile: share + "/secret", atomically: true, encoding: .utf8)
        #expect(symlink(share + "/secret", directory.path + "/link.json") == 0)
        #expect(mkdir(directory.path + "/dir.json", 0o755) == 0)
        try "not json".write(toFile: directory.path + "/garbage.json", atomically: true, encoding: .utf8)
        let huge = FileManager.default.createFile(atPath: directory.path + "/huge.json", contents: nil)
        #expect(huge && truncate(directory.path + "/huge.json", off_t(HostReportDirectory.maximumSize + 1)) == 0)

        let started = ContinuousClock.now
        let entries = try directory.readAll()
        #expect(ContinuousClock.now - started < .seconds(2), "a FIFO is not opened for a blocking read")
        let failures = Dictionary(uniqueKeysWithValues: entries.compactMap { entry -> (String, String)? in
            if case .failure(let error) = entry.report { return (entry.file, error.description) }
            return nil
        })
        #expect(Set(failures.keys) == ["fifo.json", "link.json", "dir.json", "garbage.json", "huge.json"])
        #expect(failures["huge.json"]?.contains("larger than") == true, "\(failures)")
        #expect(failures["garbage.json"]?.hasPrefix("not a host report") == true)
        let view = FleetView(pool: "east", entries: entries, definition: nil, hostPoolModified: nil, now: Self.now, staleAfter: 300)
        #expect(view.hosts.map(\.host) == ["good"] && view.unreadable.count == 5)
    }

    @Test("ten hosts rewriting their reports at once while a reader reads: every read sees whole reports only")
    func concurrentWriters() async throws {
        let share = TestEnvironment.makeTemporaryDirectory("fleet")
        defer { try? FileManager.default.removeItem(atPath: share) }
        let directory = HostReportDirectory(share: share)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<10 {
                group.addTask {
                    for round in 0..<30 {
                        try directory.write(Self.report("host-\(n)", age: Double(round), images: [Self.v2]))
                    }
                }
            }
            group.addTask {
                for _ in 0..<30 {
                    for entry in try directory.readAll() {
                        if case .failure(let error) = entry.report { Issue.record("\(entry.file): \(error)") }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try directory.readAll().count == 10)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).allSatisfy { !$0.hasPrefix(".") },
                "no temporary file left")
    }

    @Test("a host name becomes a plain file name: no hidden file, no slash, no control character")
    func fileNames() {
        #expect(HostReportDirectory.fileName(host: "sh-01.corp") == "sh-01.corp.json")
        #expect(HostReportDirectory.fileName(host: "../../etc/x") == "_.._etc_x.json")
        #expect(HostReportDirectory.fileName(host: ".hidden") == "hidden.json")
        #expect(HostReportDirectory.fileName(host: "a\nb") == "a_b.json")
        #expect(HostReportDirectory.fileName(host: "") == "unnamed.json")
    }
}
