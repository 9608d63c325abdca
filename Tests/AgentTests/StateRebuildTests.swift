import Foundation
import Glibc
import HostPool
import LinuxSystem
import Registration
import Staging
import StateStore
import Systemd
import Testing
import TestSupport
@testable import Agent

/// A host for the agent's start-up path in a scratch directory: a share with an image of the
/// fixture package, a host-pool file giving it to `users`, a runtime and a state directory.
final class StartupScene {
    let dir = TestEnvironment.makeTemporaryDirectory("agentstart")
    let settings: AgentSettings
    static let family = "BestAppExtension_s7d21py8hx46g"
    static let fullName = "BestAppExtension_1.0.0.0_neutral__s7d21py8hx46g"

    /// The built `appattachctl`, next to the test runner.
    static var binary: String {
        let runner = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: runner).deletingLastPathComponent().appendingPathComponent("appattachctl").path
    }

    init() throws {
        chmod(dir, 0o755)
        var config = HostConfig(share: .init(path: dir + "/share"), pool: "pool1",
                                stateDirectory: dir + "/state", runtimeDirectory: dir + "/run")
        // Unsigned test packages: signatures are PackageTrust's and SignaturePolicyTests' concern.
        config.signaturePolicy = .optional
        config.keepEvents = 1_000
        settings = AgentSettings(config: config, configPath: dir + "/appattach.toml")
        do {
            try FileManager.default.createDirectory(atPath: dir + "/share/hostpools", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: dir + "/share/images", withIntermediateDirectories: true)
            let made = try TestEnvironment.run([Self.binary, "expand", TestEnvironment.msixFixtures + "/TestLinux.msix",
                                                "-o", dir + "/share/images/app.vhdx", "--root-directory", "apps"])
            guard made.status == 0 else { throw TestFailure("expand: \(made.output)") }
        } catch {
            try? FileManager.default.removeItem(atPath: dir)
            throw error
        }
    }

    /// Writes the host-pool file: the package for `users`.
    func publish(to users: [String], registration: String = "delayed") throws {
        let list = users.map { "\"\($0)\"" }.joined(separator: ", ")
        try """
            [[package]]
            image = "images/app.vhdx"
            name = "\(Self.family)"
            registration = "\(registration)"
            users = [\(list)]
            """.write(toFile: dir + "/share/hostpools/pool1.toml", atomically: true, encoding: .utf8)
    }

    var statePath: String { settings.config.stateDirectory + "/state.db" }

    deinit {
        let paths = settings.stagingPaths
        for id in (try? DirectoryListing.names(paths.images)) ?? [] { _ = try? Destage(paths: paths).run(id) }
        // Whatever a failed test left (in any runtime directory of the scene), lazily at last.
        for flags in [Int32(0), Int32(MNT_DETACH)] {
            for line in ((try? SysfsFile.read("/proc/self/mountinfo")) ?? "").split(separator: "\n").reversed() {
                let fields = line.split(separator: " ")
                if fields.count > 4, fields[4].hasPrefix(dir + "/") { umount2(String(fields[4]), flags) }
            }
        }
        try? FileManager.default.removeItem(atPath: dir)
    }
}

/// A damaged `state.db` at the agent's start: moved aside, rebuilt from the kernel's mounts and
/// the signed-in users' homes, journaled; the agent comes up and registered users stay so.
@Suite("state database rebuilt at start (root: users, loop devices, mounts)", .serialized,
       .tags(.makesUsers, .attachesLoopDevices, .mounts),
       .enabled(if: TestEnvironment.hasLoopDevices, "needs root and /dev/loop-control"),
       .enabled(if: TestEnvironment.hasTool("mkfs.erofs"), "needs mkfs.erofs"),
       .enabled(if: TestEnvironment.hasTool("useradd") && TestEnvironment.hasTool("setpriv"), "needs useradd and setpriv for test users"))
struct StateRebuildTests {
    enum Damage: String, CaseIterable, CustomTestStringConvertible {
        case truncated, garbage
        var testDescription: String { rawValue }
    }

    @Test("a truncated or garbage state.db: moved aside, rebuilt, journaled; the signed-in user's registration is there after",
          arguments: Damage.allCases)
    func rebuilt(damage: Damage) async throws {
        let scene = try StartupScene()
        let alice = try TestUser(base: scene.dir + "/home")
        defer { alice.remove() }
        let bob = try TestUser(base: scene.dir + "/home")
        defer { bob.remove() }
        try scene.publish(to: [alice.account.name, bob.account.name])

        // Before: the package staged, registered for both (alice's completed by a launch, so her
        // desktop entry is a regular one), as the agent leaves it.
        do {
            let (core, damaged) = try AgentCore.open(settings: scene.settings, logger: CapturedLog().logger)
            #expect(damaged == nil)
            core.refreshHostPool()
            let package = try #require(core.stager.packages[StartupScene.fullName], "staged: \(core.stager.packages.keys)")
            for (user, mode) in [(alice, Registration.RegistrationMode.regular), (bob, Registration.RegistrationMode.delayed)] {
                let plan = RegistrationPlan(manifest: package.manifest, integration: package.integration, mode: mode,
                                            home: user.account.home, launcher: scene.settings.launcher)
                _ = try await Register(files: core.userFiles).run([plan], for: user.account)
                try core.database.saveRegistrations([RegistrationRecord(
                    uid: user.account.uid, userName: user.account.name, packageFullName: StartupScene.fullName,
                    mode: .delayed, state: mode == .regular ? .complete : .partial, registeredAt: Date())], events: [])
            }
            #expect(try core.database.registrations(ofUID: alice.account.uid).map(\.state) == [.complete])
        }
        // The agent stopped (its database closed); then the file is damaged.
        let length = try #require(lstatus(scene.statePath)).st_size
        switch damage {
        case .truncated: #expect(truncate(scene.statePath, 8192) == 0 && length > 8192, "\(length) bytes")
        case .garbage:
            try Data((0..<Int(length)).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: scene.statePath))
        }

        // The next start: alice is signed in, bob is not.
        let log = CapturedLog()
        let (core, damaged) = try AgentCore.open(settings: scene.settings, logger: log.logger)
        let report = try #require(damaged, "the damage was not noticed")
        #expect(FileManager.default.fileExists(atPath: report.keptPath))
        let event = try #require(log.events(.stateDatabaseRebuilt).first, "journaled")
        #expect(event.field("appattach.kept")?.contains(report.keptPath) == true, "\(event.metadata)")
        #expect(event.message.contains(report.reason) && event.message.contains("1 staged images with 1 packages"), "\(event.message)")
        // Images and packages from the kernel's mounts, at once.
        #expect(try core.database.packages(ofImage: core.stager.packages[StartupScene.fullName]?.imageID ?? "").map(\.fullName)
                == [StartupScene.fullName])

        let recorded = await core.recoverRegistrations(signedIn: [alice.account.uid])
        #expect(recorded.map(\.uid) == [alice.account.uid])
        let registration = try #require(try core.database.registrations(ofUID: alice.account.uid).first, "alice stays registered")
        #expect(registration.packageFullName == StartupScene.fullName)
        #expect(registration.state == .complete, "her launch's completion is read back from her desktop entry")
        #expect(try core.database.registrations(ofUID: bob.account.uid).isEmpty, "bob is not signed in: his home is not read")
        for suffix in ["", "-wal", "-shm"] {
            #expect(lstatus(scene.statePath + suffix).map { $0.st_mode & 0o7777 } == 0o600, "state.db\(suffix)")
        }
    }
}
