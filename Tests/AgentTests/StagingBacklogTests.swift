import Foundation
import Glibc
import HostPool
import LinuxSystem
import Staging
import Testing
import TestSupport
@testable import Agent

/// A host pool of many images at start: staged in batches, each followed by a watchdog ping
/// (`afterBatch`), within the start-up budget; the rest from the loop, one batch per command,
/// with each package's gate opened to its users as it comes.
@Suite("staging a pool in batches (root: loop devices, mounts)", .serialized, .tags(.attachesLoopDevices, .mounts),
       .enabled(if: TestEnvironment.hasLoopDevices, "needs root and /dev/loop-control"),
       .enabled(if: TestEnvironment.hasTool("mkfs.erofs"), "needs mkfs.erofs"),
       .enabled(if: TestEnvironment.hasUser("nobody"), "needs the account nobody"))
struct StagingBacklogTests {
    static let images = 40

    @Test("start-up stages batches within its budget, pinging after each; the loop stages the rest, gates open")
    func batches() async throws {
        let scene = try StartupScene()
        var pool = ""
        for n in 0..<Self.images {
            let scratch = scene.dir + "/scratch\(n)"
            try RegistrationScaleTests.makeImage(scene.dir + "/share/images/batch\(n).erofs", count: 1, scratch: scratch, name: "Batch.App\(n)")
            pool += "[[package]]\nimage = \"images/batch\(n).erofs\"\nname = \"Batch.App\(n)_\(RegistrationScaleTests.publisherID)\"\nusers = [\"nobody\"]\n\n"
        }
        try pool.write(toFile: scene.dir + "/share/hostpools/pool1.toml", atomically: true, encoding: .utf8)

        var settings = scene.settings
        settings.startupStagingBudget = .milliseconds(100)
        let core = try AgentCore.open(settings: settings, logger: CapturedLog().logger).core
        let pings = Shared(0)
        core.stager.afterBatch = { pings.value += 1 }

        // Start-up: READY may follow after the budget and at most one image more.
        let started = ContinuousClock.now
        core.refreshHostPool()
        let startup = ContinuousClock.now - started
        let stagedAtStart = core.stager.packages.count
        print("start-up staged \(stagedAtStart) of \(Self.images) images in \(startup), \(pings.value) batches; the rest after READY")
        #expect(startup < .seconds(1), "\(startup)")
        #expect(stagedAtStart >= 1 && stagedAtStart < Self.images)
        #expect(pings.value >= 1, "the watchdog was pinged after each batch")
        #expect(core.stager.hasBacklog)

        // After READY: one command queued at a time, each a batch, until nothing is left.
        let queued = Shared(0)
        core.enqueue = { command in if case .stageBacklog = command { queued.value += 1 } }
        core.queueStagingBatch()
        core.queueStagingBatch()
        #expect(queued.value == 1, "one batch command on the queue at a time")
        var commands = 0
        while queued.value > commands {
            commands += 1
            let batchStarted = ContinuousClock.now
            core.stageBacklogBatch()
            #expect(ContinuousClock.now - batchStarted < .seconds(2), "one batch, then the loop serves others")
        }
        #expect(!core.stager.hasBacklog)
        #expect(core.stager.packages.count == Self.images)
        print("the loop staged the other \(Self.images - stagedAtStart) in \(commands) batch commands")

        let nobody = try #require(try Accounts.account(named: "nobody"))
        for n in [0, Self.images - 1] {
            let gate = settings.stagingPaths.gate("Batch.App\(n)_1.0.0.0_neutral__\(RegistrationScaleTests.publisherID)")
            let acl = try AccessControlList.read(from: gate)
            #expect(acl.contains("u:\(nobody.uid):r-x"), "gate \(n) opened to its user: \(acl)")
        }
    }

    @Test("one image of 1,000 packages named by 1,000 entries: staged once, and finding the package each entry provides is a look-up, not a scan of the image's packages")
    func oneImageOfManyPackages() async throws {
        try await TestEnvironment.onOwnThread {
            let scene = try StartupScene()
            let count = 1_000
            try RegistrationScaleTests.makeImage(scene.dir + "/share/images/many.erofs", count: count, scratch: scene.dir + "/scratch", name: "Many.App")
            var pool = ""
            for n in 0..<count {
                pool += "[[package]]\nimage = \"images/many.erofs\"\nname = \"Many.App\(n)_\(RegistrationScaleTests.publisherID)\"\nusers = [\"nobody\"]\n\n"
            }
            try pool.write(toFile: scene.dir + "/share/hostpools/pool1.toml", atomically: true, encoding: .utf8)
            var settings = scene.settings
            settings.startupStagingBudget = .seconds(120)
            let core = try AgentCore.open(settings: settings, logger: CapturedLog().logger).core

            let started = ContinuousClock.now
            core.refreshHostPool()
            let staging = ContinuousClock.now - started
            #expect(core.stager.packages.count == count && !core.stager.hasBacklog)
            // What every host-pool change and every batch does: each entry's package found
            // among the image's 1,000. A scan per entry was half a million name parses (seconds
            // in a debug build, in one turn of the loop; 5,000 made the watchdog kill the agent).
            let lookups = ContinuousClock.now
            let wanted = core.wantedImages()
            let lookedUp = ContinuousClock.now - lookups
            print("one image of \(count) packages: staged with its gates in \(staging); the \(count) entries' packages found in \(lookedUp)")
            #expect(wanted.count == 1)
            #expect(lookedUp < .milliseconds(500), "\(lookedUp)")
        }
    }
}

/// A value shared with a closure.
final class Shared<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
