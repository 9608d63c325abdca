import Fleet
import Foundation
import Glibc
import Health
import HostPool
import Logging
import Systemd
import Testing
import TestSupport
@testable import Agent

/// A host pool whose image is missing, under each health policy: the host's health, its
/// journal event, the status line and the metrics file say what the policy says; the image
/// uploaded, the retry stages it and the host is healthy again without a restart.
@Suite("host health from staging failures (root: loop devices, mounts)", .serialized, .tags(.attachesLoopDevices, .mounts),
       .enabled(if: TestEnvironment.hasLoopDevices, "needs root and /dev/loop-control"),
       .enabled(if: TestEnvironment.hasTool("mkfs.erofs"), "needs mkfs.erofs"),
       .enabled(if: TestEnvironment.hasUser("nobody"), "needs the account nobody"))
struct HostHealthTests {
    /// The scene's good image, and a second entry whose image is not on the share yet.
    static func pool(missingPolicy policy: HealthPolicy) -> String {
        """
        [[package]]
        image = "images/app.vhdx"
        name = "\(StartupScene.family)"
        health = "Unhealthy"
        users = ["nobody"]

        [[package]]
        image = "images/late.erofs"
        name = "Late.App_\(RegistrationScaleTests.publisherID)"
        health = "\(policy.rawValue)"
        users = ["nobody"]
        """
    }

    @Test("a missing image makes the host what its entry's policy says; uploaded, the retry clears it",
          arguments: [(HealthPolicy.unhealthy, HostHealth.unhealthy), (.needsAssistance, .needsAssistance), (.doNotFail, .healthy)])
    func missingImage(policy: HealthPolicy, expected: HostHealth) throws {
        let scene = try StartupScene()
        try Self.pool(missingPolicy: policy).write(toFile: scene.dir + "/share/hostpools/pool1.toml", atomically: true, encoding: .utf8)
        var settings = scene.settings
        settings.config.metricsTextfile = scene.dir + "/metrics/appattach.prom"
        try FileManager.default.createDirectory(atPath: scene.dir + "/metrics", withIntermediateDirectories: true)
        let log = CapturedLog()
        let core = try AgentCore.open(settings: settings, logger: log.logger).core
        core.refreshHostPool()

        let report = core.health.report
        #expect(report.state == expected)
        #expect(report.problems.count == 1)
        let problem = try #require(report.problems.first)
        #expect(problem.image == "images/late.erofs" && problem.policy == policy)
        #expect(problem.reason.contains("late.erofs"), "the reason names the file: \(problem.reason)")
        #expect(core.status(for: 0).health == report)
        #expect(core.statusLine.contains(report.summary), "\(core.statusLine)")

        // Journaled once, when the state changed: never for DoNotFail, which changes nothing.
        let changes = log.events(.healthChanged)
        #expect(changes.count == (expected == .healthy ? 0 : 1))
        if let change = changes.first {
            #expect("\(change.metadata["appattach.health"] ?? "")" == expected.rawValue)
            #expect("\(change.metadata["appattach.reason"] ?? "")".contains("late.erofs"))
            #expect(change.level == (expected == .unhealthy ? .error : .warning))
        }

        // The metrics file, written at the change (and by the loop's timer otherwise).
        core.writeMetrics()
        let metrics = try String(contentsOfFile: scene.dir + "/metrics/appattach.prom", encoding: .utf8)
        #expect(metrics.contains("appattach_health{state=\"\(expected.rawValue)\"} 1"))
        #expect(metrics.contains("appattach_health_failed_packages{policy=\"\(policy.rawValue)\"} 1"))
        #expect(metrics.contains("appattach_staged_images 1"))
        #expect(metrics.contains("appattach_stage_failures_total 1"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: scene.dir + "/metrics") == ["appattach.prom"],
                "no temporary file left beside it")

        // Uploaded: the next retry stages it, the host is healthy and says so.
        try RegistrationScaleTests.makeImage(scene.dir + "/share/images/late.erofs", count: 1, scratch: scene.dir + "/scratch", name: "Late.App")
        core.retryFailedStaging()
        core.stageBacklogBatch()
        #expect(core.health.report == HealthReport(problems: []))
        #expect(core.stager.imageCount == 2)
        #expect(log.events(.healthChanged).count == (expected == .healthy ? 0 : 2))
        if expected != .healthy {
            #expect("\(log.events(.healthChanged).last?.metadata["appattach.health"] ?? "")" == "Healthy")
        }
        core.writeMetrics()
        #expect(try String(contentsOfFile: scene.dir + "/metrics/appattach.prom", encoding: .utf8)
            .contains("appattach_health{state=\"Healthy\"} 1"))
    }

    @Test("a host-pool change that drops the failed entry clears its failure")
    func entryRemoved() throws {
        let scene = try StartupScene()
        try Self.pool(missingPolicy: .unhealthy).write(toFile: scene.dir + "/share/hostpools/pool1.toml", atomically: true, encoding: .utf8)
        let core = try AgentCore.open(settings: scene.settings, logger: CapturedLog().logger).core
        core.refreshHostPool()
        #expect(core.health.report.state == .unhealthy)
        try scene.publish(to: ["nobody"])
        core.refreshHostPool()
        #expect(core.health.report.state == .healthy && core.health.report.problems.isEmpty)
    }

    @Test("the host's report on the share says its health and what it serves; rewritten when that changes, not otherwise")
    func hostReport() async throws {
        let scene = try StartupScene()
        try Self.pool(missingPolicy: .needsAssistance).write(toFile: scene.dir + "/share/hostpools/pool1.toml", atomically: true, encoding: .utf8)
        var settings = scene.settings
        settings.hostName = "sh-07"
        let core = try AgentCore.open(settings: settings, logger: CapturedLog().logger).core
        core.refreshHostPool()
        let writer = try #require(core.hostReportWriter)
        let directory = HostReportDirectory(share: scene.dir + "/share")
        func written() async throws -> HostReport {
            while writer.isBusy { try await Task.sleep(for: .milliseconds(10)) }
            let entries = try directory.readAll()
            #expect(entries.map(\.file) == ["sh-07.json"])
            return try #require(try entries.first?.report.get())
        }

        core.reportHostIfDue()
        let first = try await written()
        #expect(first.host == "sh-07" && first.pool == "pool1")
        #expect(first.health.state == .needsAssistance && first.health.problems.map(\.image) == ["images/late.erofs"])
        #expect(first.images.map(\.image) == ["images/app.vhdx"])
        #expect(first.images.first?.packages.map(\.fullName) == [StartupScene.fullName])
        #expect(first.hostPool != nil && first.hostPoolProblem == nil)

        // Nothing changed: not written again before the refresh is due.
        core.reportHostIfDue()
        #expect(!writer.isBusy)
        #expect(try await written().reportedAt == first.reportedAt)

        // The image uploaded and staged: the next look writes the healthy host.
        try RegistrationScaleTests.makeImage(scene.dir + "/share/images/late.erofs", count: 1, scratch: scene.dir + "/scratch", name: "Late.App")
        core.retryFailedStaging()
        core.stageBacklogBatch()
        core.reportHostIfDue()
        let second = try await written()
        #expect(second.health.state == .healthy && second.images.count == 2)
        #expect(second.reportedAt >= first.reportedAt)
    }

    @Test("a share the host may not write to: the report's failure is logged once, the agent goes on")
    func readOnlyShare() async throws {
        let scene = try StartupScene()
        try scene.publish(to: ["nobody"])
        // A file where the hosts directory should be: every write fails the same way.
        try "".write(toFile: scene.dir + "/share/hosts", atomically: true, encoding: .utf8)
        let log = CapturedLog()
        let core = try AgentCore.open(settings: scene.settings, logger: log.logger).core
        core.refreshHostPool()
        let writer = try #require(core.hostReportWriter)
        for round in 0..<3 {
            core.reportHostIfDue(now: .now + .seconds(61 * (round + 1)))
            while writer.isBusy { try await Task.sleep(for: .milliseconds(10)) }
        }
        let warnings = log.matching(.warning, containing: "cannot write this host's report")
        #expect(warnings.count == 1, "\(warnings.map(\.message))")
    }
}
