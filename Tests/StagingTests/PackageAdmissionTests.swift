import Foundation
import Glibc
import LinuxSystem
import Staging
import Testing
import TestSupport

/// A package folder refused by the admission check is never mounted nor published; the record
/// keeps the reason; staging again does not ask again, and a repair does not expose it.
@Suite("package admission at staging (root: loop devices, mounts)", .serialized, .tags(.attachesLoopDevices, .mounts),
       .enabled(if: TestEnvironment.hasLoopDevices, "needs root and /dev/loop-control"),
       .enabled(if: TestEnvironment.hasTool("mkfs.erofs"), "needs mkfs.erofs"))
struct PackageAdmissionTests {
    /// Counts the questions and refuses `Demo.Two`.
    final class Refuser: @unchecked Sendable {
        private let lock = NSLock()
        private var asked: [String] = []
        var questions: [String] { lock.withLock { asked } }
        var check: PackageAdmission {
            { [self] _, fullName, folder in
                lock.withLock { asked.append(fullName) }
                #expect(FileManager.default.fileExists(atPath: folder + "/AppxManifest.xml"), "the folder inside the image: \(folder)")
                return fullName.hasPrefix("Demo.Two") ? "its manifest is package Demo.Other" : nil
            }
        }
    }

    @Test("a refused folder: not mounted, not published, recorded with its reason; not asked twice; not exposed by repair")
    func refusedFolder() throws {
        let host = try ScratchHost()
        let refuser = Refuser()
        let stage = Stage(paths: host.paths, gateMode: 0o700, admission: refuser.check, mapper: host.mapper)
        let image = try stage.run(host.image).image
        let (one, two) = (ScratchHost.packageNames[0], ScratchHost.packageNames[1])
        #expect(image.packages.map(\.fullName) == [one])
        #expect(image.refused == [RefusedPackage(fullName: two, reason: "its manifest is package Demo.Other")])
        #expect(!Mount.isMountPoint(host.paths.packageMountPoint(two)))
        #expect(access(host.paths.packageLink(two), F_OK) != 0)
        #expect(access(host.paths.gate(two), F_OK) != 0, "no gate either")
        #expect(StagingRecords(paths: host.paths).load(image.id)?.refused.map(\.fullName) == [two])
        #expect(refuser.questions == [one, two])

        // Staged again: already staged, the refusal kept, nobody asked again.
        let again = try stage.run(host.image)
        guard case .alreadyStaged(let same) = again else { Issue.record("expected already staged"); return }
        #expect(same.refused.map(\.fullName) == [two])
        #expect(refuser.questions == [one, two])

        // The package bind of the admitted one lost (a crash): repair puts it back, and only it.
        try Mount.unmount(host.paths.packageMountPoint(one))
        let repairs = try Reconcile(paths: host.paths).run()
        #expect(repairs.contains { $0.contains("exposed 1 package") }, "\(repairs)")
        #expect(Mount.isMountPoint(host.paths.packageMountPoint(one)))
        #expect(!Mount.isMountPoint(host.paths.packageMountPoint(two)), "repair never exposes a refused folder")
        var status = stat()
        #expect(stat(host.paths.gate(one), &status) == 0 && status.st_mode & 0o777 == 0o700, "repair re-exposes closed: \(String(status.st_mode & 0o777, radix: 8))")
        _ = try Destage(paths: host.paths).run(image.id)
        #expect(host.mounts.isEmpty)
    }

    @Test("folder names with control characters are not packages at all")
    func controlCharactersInFolderNames() throws {
        let host = try ScratchHost(extraFolders: ["Evil\nName_1.0.0.0_neutral__8wekyb3d8bbwe"])
        let image = try Stage(paths: host.paths, mapper: host.mapper).run(host.image).image
        #expect(image.packages.map(\.fullName) == ScratchHost.packageNames)
        _ = try Destage(paths: host.paths).run(image.id)
    }
}
