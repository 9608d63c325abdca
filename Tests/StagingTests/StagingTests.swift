import Foundation
import Glibc
import LinuxSystem
import Staging
import Testing
import TestSupport

/// A scratch host: a runtime directory for staging, an EROFS image holding fake packages,
/// and clean-up that destages whatever a test left staged.
final class ScratchHost {
    let dir = TestEnvironment.makeTemporaryDirectory("staging")
    let paths: StagingPaths
    let image: String
    static let packageNames = ["Demo.One_1.0.0.0_neutral__8wekyb3d8bbwe", "Demo.Two_2.1.0.0_x64__8wekyb3d8bbwe"]

    init(name: String = "image.erofs", extraFolders: [String] = []) throws {
        paths = StagingPaths(runtime: dir + "/run")
        image = dir + "/" + name
        for package in Self.packageNames + extraFolders {
            let root = dir + "/tree/apps/" + package
            try FileManager.default.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
            try "<Package/>\n".write(toFile: root + "/AppxManifest.xml", atomically: false, encoding: .utf8)
            try "payload of \(package)\n".write(toFile: root + "/bin/data", atomically: false, encoding: .utf8)
        }
        try ExternalCommand("mkfs.erofs", ["--quiet", "-U\(UUID().uuidString.lowercased())", image, dir + "/tree"]).run()
    }

    /// Maps a bare EROFS file: the whole file.
    var mapper: @Sendable (String) throws -> ImageMapping {
        { path in
            let size = try OpenFile.openForReading(path).size()
            return ImageMapping(offset: 0, length: size, filesystem: .erofs, blockSize: 4096, isBareFilesystem: true)
        }
    }

    var stage: Stage { Stage(paths: paths, mapper: mapper) }

    /// Loop devices whose backing file lives in this host's directory.
    var loopDevices: [LoopDeviceState] { LoopDeviceTable.read().filter { $0.backingFile.hasPrefix(dir + "/") } }

    /// Mounts below this host's directory.
    var mounts: [MountEntry] { ((try? MountTable.read()) ?? []).filter { $0.mountPoint.hasPrefix(dir + "/") } }

    deinit {
        for entry in mounts.reversed() { umount2(entry.mountPoint, 0) }
        try? FileManager.default.removeItem(atPath: dir)
    }
}

@Suite("staging (root: loop devices, mounts)", .serialized, .tags(.attachesLoopDevices, .mounts),
       .enabled(if: TestEnvironment.hasLoopDevices, "needs root and /dev/loop-control"),
       .enabled(if: TestEnvironment.hasTool("mkfs.erofs"), "needs mkfs.erofs"))
struct StagingTests {
    @Test("stage exposes every package read-only; staging twice is a no-op; destage leaves nothing")
    func stageAndDestage() throws {
        let host = try ScratchHost()
        let outcome = try host.stage.run(host.image)
        guard case .staged(let image) = outcome else { Issue.record("expected a new stage"); return }
        #expect(image.packages.map(\.fullName) == ScratchHost.packageNames)
        for name in ScratchHost.packageNames {
            let data = try String(contentsOfFile: host.paths.packageMountPoint(name) + "/bin/data", encoding: .utf8)
            #expect(data == "payload of \(name)\n")
            let entry = try #require(host.mounts.first { $0.mountPoint == host.paths.packageMountPoint(name) })
            #expect(Set(["ro", "nosuid", "nodev"]).isSubset(of: Set(entry.options)))
        }
        let status = StagingStatus.read(paths: host.paths)
        #expect(status.images.map(\.id) == [image.id])
        #expect(status.images.first?.packages.count == 2)
        #expect(status.images.first?.imagePath == host.image)

        guard case .alreadyStaged(let again) = try host.stage.run(host.image) else {
            Issue.record("second stage should be a no-op"); return
        }
        #expect(again.id == image.id)
        #expect(host.mounts.count == 3)

        let destaged = try Destage(paths: host.paths).run(host.image)
        #expect(destaged.imageID == image.id)
        #expect(host.mounts.isEmpty)
        #expect(waitUntil { host.loopDevices.isEmpty })
        #expect(StagingStatus.read(paths: host.paths).images.isEmpty)
    }

    @Test("a busy package is not destaged, and the processes are named")
    func busyDestageRefused() throws {
        let host = try ScratchHost()
        let image = try host.stage.run(host.image).image
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["60"]
        sleeper.currentDirectoryURL = URL(fileURLWithPath: host.paths.packageMountPoint(ScratchHost.packageNames[0]))
        try sleeper.run()
        defer { kill(sleeper.processIdentifier, SIGKILL); sleeper.waitUntilExit() }

        do {
            _ = try Destage(paths: host.paths).run(image.id)
            Issue.record("destage of a busy image succeeded")
        } catch let error as StagingError {
            #expect(error.description.contains("sleep[\(sleeper.processIdentifier)] (cwd)"), "\(error)")
        }
        #expect(host.mounts.count == 3, "everything stays staged")

        kill(sleeper.processIdentifier, SIGKILL)
        sleeper.waitUntilExit()
        _ = try Destage(paths: host.paths).run(image.id)
        #expect(host.mounts.isEmpty)
    }

    @Test("destaging one package keeps the other; the last one takes the image with it")
    func destagePackages() throws {
        let host = try ScratchHost()
        let image = try host.stage.run(host.image).image
        let first = try Destage(paths: host.paths).run(ScratchHost.packageNames[0])
        #expect(first.imageID == nil)
        #expect(host.mounts.count == 2)
        let second = try Destage(paths: host.paths).run(ScratchHost.packageNames[1])
        #expect(second.imageID == image.id)
        #expect(host.mounts.isEmpty)
    }

    @Test("reconcile finishes a stage interrupted after the image mount")
    func reconcileFinishesInterruptedStage() throws {
        let host = try ScratchHost()
        let image = try host.stage.run(host.image).image
        // Undo the end of the stage by hand: package binds and record gone, image still mounted.
        for package in image.packages { try Mount.unmount(package.mountPoint) }
        StagingRecords(paths: host.paths).remove(image.id)
        #expect(host.mounts.count == 1)

        let repairs = try Reconcile(paths: host.paths).run()
        #expect(repairs.contains { $0.contains("recorded image") })
        #expect(repairs.contains { $0.contains("exposed 2 package") })
        #expect(host.mounts.count == 3)
        #expect(StagingRecords(paths: host.paths).all().map(\.id) == [image.id])
        #expect(try Reconcile(paths: host.paths).run().isEmpty, "a second pass finds nothing to do")
        _ = try Destage(paths: host.paths).run(image.id)
    }

    @Test("reconcile removes package binds whose image is gone, and stale records")
    func reconcileRemovesOrphans() throws {
        let host = try ScratchHost()
        let image = try host.stage.run(host.image).image
        // Lazily detach only the image mount: its packages remain as orphans.
        umount2(image.mountPoint, Int32(MNT_DETACH))
        let repairs = try Reconcile(paths: host.paths).run()
        #expect(repairs.filter { $0.contains("orphaned package") }.count == 2)
        #expect(repairs.contains { $0.contains("removed the record") })
        #expect(host.mounts.isEmpty)
        #expect(waitUntil { host.loopDevices.isEmpty })
    }

    @Test("the path index finds a staged image by its file, and goes with the record")
    func pathIndex() throws {
        let host = try ScratchHost()
        let records = StagingRecords(paths: host.paths)
        let image = try host.stage.run(host.image).image
        #expect(records.id(ofImageAt: host.image) == image.id)
        _ = try Destage(paths: host.paths).run(host.image)
        #expect(records.id(ofImageAt: host.image) == nil)
        #expect(try DirectoryListing.names(host.paths.records).isEmpty, "no record and no index entry left")

        // A crash that took the record and its back-link but not the path entry: reconcile
        // takes the dangling entry away.
        let again = try host.stage.run(host.image).image
        unlink(host.paths.record(again.id))
        unlink(host.paths.records + "/" + again.id + ".index")
        _ = try Destage(paths: host.paths).run(again.id)
        #expect(try Reconcile(paths: host.paths).run().contains { $0.contains("path index") })
        #expect(try DirectoryListing.names(host.paths.records).isEmpty)
    }

    @Test("50 stage/destage cycles leave no mount, loop device or record behind")
    func cyclesLeaveNothing() async throws {
        try await TestEnvironment.onOwnThread {
            let host = try ScratchHost()
            for _ in 0..<50 {
                _ = try host.stage.run(host.image)
                _ = try Destage(paths: host.paths).run(host.image)
            }
            #expect(host.mounts.isEmpty)
            #expect(waitUntil { host.loopDevices.isEmpty })
            #expect(StagingRecords(paths: host.paths).all().isEmpty)
        }
    }

    @Test("not staged, missing and unsupported images give one-line errors")
    func errors() throws {
        let host = try ScratchHost()
        #expect(throws: StagingError.self) { try Destage(paths: host.paths).run(host.image) }
        #expect(throws: StagingError.self) { try host.stage.run(host.dir + "/missing.vhdx") }
        try Data(repeating: 0x5A, count: 1 << 20).write(to: URL(fileURLWithPath: host.dir + "/junk.erofs"))
        #expect(throws: (any Error).self) { try host.stage.run(host.dir + "/junk.erofs") }
        #expect(host.mounts.isEmpty)
        #expect(waitUntil { host.loopDevices.isEmpty })
        #expect((try? FileManager.default.contentsOfDirectory(atPath: host.paths.images)) ?? [] == [])
    }
}

/// Polls `condition` for up to two seconds (autoclear releases a loop device asynchronously).
func waitUntil(_ condition: () -> Bool) -> Bool {
    for _ in 0..<200 {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}
