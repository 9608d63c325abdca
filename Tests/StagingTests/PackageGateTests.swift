import Foundation
import Glibc
import LinuxSystem
import Staging
import Testing
import TestSupport

/// The published name of a package is a link into its gate; the gate's mode decides who gets in.
@Suite("package gates (root: loop devices, mounts)", .serialized, .tags(.attachesLoopDevices, .mounts),
       .enabled(if: TestEnvironment.hasLoopDevices, "needs root and /dev/loop-control"),
       .enabled(if: TestEnvironment.hasTool("mkfs.erofs"), "needs mkfs.erofs"),
       .enabled(if: TestEnvironment.hasTool("setpriv"), "needs setpriv (util-linux)"))
struct PackageGateTests {
    /// Reads `path` as the unprivileged user `nobody`; true when it could.
    func nobodyCanRead(_ path: String) throws -> Bool {
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        reader.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/cat", path]
        reader.standardOutput = FileHandle.nullDevice
        reader.standardError = FileHandle.nullDevice
        try reader.run()
        reader.waitUntilExit()
        return reader.terminationStatus == 0
    }

    @Test("packages/<name> links to the mount in its gate; a closed gate keeps others out; destage removes both")
    func gateDecidesAccess() throws {
        let host = try ScratchHost()
        // The scratch directory is private by default; open it so only the gate decides.
        chmod(host.dir, 0o755)
        let name = ScratchHost.packageNames[0]
        let published = host.paths.packageLink(name) + "/bin/data"

        _ = try Stage(paths: host.paths, gateMode: 0o755, mapper: host.mapper).run(host.image)
        #expect(try String(contentsOfFile: published, encoding: .utf8) == "payload of \(name)\n")
        #expect(try nobodyCanRead(published), "an open gate lets everyone in")
        let image = try Destage(paths: host.paths).run(host.image)
        #expect(image.packages.count == 2)

        _ = try Stage(paths: host.paths, gateMode: 0o700, mapper: host.mapper).run(host.image)
        var st = stat()
        #expect(stat(host.paths.gate(name), &st) == 0 && st.st_mode & 0o777 == 0o700)
        #expect(try String(contentsOfFile: published, encoding: .utf8) == "payload of \(name)\n")
        #expect(try !nobodyCanRead(published), "a closed gate keeps others out")

        _ = try Destage(paths: host.paths).run(host.image)
        #expect(lstat(host.paths.packageLink(name), &st) != 0 && errno == ENOENT)
        #expect(lstat(host.paths.gate(name), &st) != 0 && errno == ENOENT)
    }
}
