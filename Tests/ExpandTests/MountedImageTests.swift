import Expand
import Foundation
import Glibc
import MSIX
import Testing
import TestSupport

/// Expanded images mounted for real (util-linux `mount -o loop` at the offset our writer reports),
/// then compared with the package and checked for ownership, modes and ACLs.
@Suite("expand: mounted (root: loop devices, mounts)", .serialized, .tags(.attachesLoopDevices, .mounts),
       .enabled(if: TestEnvironment.hasLoopDevices, "needs root and /dev/loop-control"),
       .enabled(if: TestEnvironment.hasTool("mkfs.erofs") && TestEnvironment.hasTool("getfacl"),
                "needs mkfs.erofs and getfacl"))
struct MountedImageTests {
    @Test("mounted image holds the package, root-owned, readable only by the readers group",
          arguments: [(ImageFormat.vhdx, ImageFilesystem.erofs), (.vhd, .ext4), (.vhdx, .ext4), (.erofs, .erofs)])
    func mountedImage(format: ImageFormat, filesystem: ImageFilesystem) throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let package = TestEnvironment.msixFixtures + "/CentennialCoffee.appx"
        let image = dir + "/img.\(format.rawValue)"
        let result = try Expand(ExpandOptions(packages: [package], output: image, format: format,
                                              filesystem: filesystem, rootDirectory: "apps",
                                              readersGroup: "adm")).run()
        let mountPoint = dir + "/mnt"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: false)
        var options = "loop,ro,nosuid,nodev"
        if let mapping = result.layout?.mapping {
            options += ",offset=\(mapping.offset),sizelimit=\(mapping.size)"
        }
        let mount = try TestEnvironment.run(["mount", "-t", filesystem.rawValue, "-o", options, image, mountPoint])
        try #require(mount.status == 0, "mount: \(mount.output)")
        defer { _ = try? TestEnvironment.run(["umount", mountPoint]) }

        let fullName = try MSIXPackage.open(package).manifest.identity.fullName
        let packageDir = mountPoint + "/apps/" + fullName
        #expect(try TreeDigest.ofDirectory(packageDir) == TreeDigest.ofPackage(package))

        var st = stat()
        #expect(stat(packageDir + "/AppxManifest.xml", &st) == 0)
        #expect(st.st_uid == 0 && st.st_gid == 0)
        #expect(st.st_mode & 0o222 == 0, "nobody may write")
        let gid = try #require(getgrnam("adm")).pointee.gr_gid
        let acl = try TestEnvironment.run(["getfacl", "-n", "-p", packageDir])
        #expect(acl.output.contains("group:\(gid):r-x"), "\(acl.output)")
        #expect(acl.output.contains("other::---"), "\(acl.output)")
    }
}
