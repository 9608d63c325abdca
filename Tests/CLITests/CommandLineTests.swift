import Foundation
import Glibc
import Testing
import TestSupport

/// The built `appattachctl`, run as an admin would: exit codes, one-line errors, JSON output.
@Suite("appattachctl", .serialized)
struct CommandLineTests {
    /// The binary next to the test runner in the build directory.
    static let binary: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("appattachctl").path
    }()

    /// Runs the binary; returns exit status, standard output and standard error apart.
    static func run(_ arguments: [String], as user: String? = nil, environment: [String: String]? = nil) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        if let environment { p.environment = environment }
        if let user {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            p.arguments = ["--reuid=\(user)", "--regid=\(user)", "--clear-groups", binary] + arguments
        } else {
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = arguments
        }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    static let fixtures = TestEnvironment.msixFixtures

    @Test("the binary was built")
    func binaryExists() {
        #expect(access(Self.binary, X_OK) == 0, "\(Self.binary)")
    }

    @Test("the publishing commands run in appattach-tools, and a missing one is named")
    func publishingCommandsHandOver() throws {
        let tools = URL(fileURLWithPath: Self.binary).deletingLastPathComponent().appendingPathComponent("appattach-tools").path
        #expect(access(tools, X_OK) == 0, "\(tools)")
        let package = Self.fixtures + "/TestLinux.msix"
        // `help inspect` and `inspect` both reach appattach-tools, whose usage still says appattachctl.
        let help = try Self.run(["help", "inspect"])
        #expect(help.status == 0 && help.out.contains("USAGE: appattachctl inspect"), "\(help)")
        let inspected = try Self.run(["inspect", package])
        #expect(inspected.status == 0 && inspected.out.contains("BestAppExtension"), "\(inspected)")

        let missing = try Self.run(["inspect", package], environment: ["APPATTACH_TOOLS": "/nonexistent/appattach-tools"])
        #expect(missing.status == 1)
        #expect(missing.err == "appattachctl: inspect is run by appattach-tools, which is not installed (looked at /nonexistent/appattach-tools); install it beside appattachctl\n")
    }

    @Test("help lists every command")
    func help() throws {
        let r = try Self.run(["--help"])
        #expect(r.status == 0)
        for command in ["inspect", "verify", "pack", "expand", "stage", "destage", "status", "health"] {
            #expect(r.out.contains("  \(command) "), "missing \(command) in:\n\(r.out)")
        }
    }

    @Test("every invalid package is refused with one line naming the file",
          arguments: ["Empty.appx", "Invalid_Bad_Block.msix", "No_blockmap.appx", "OPC_E_ZIP_CORRUPTED_ARCHIVE.appx"])
    func invalidPackagesRefused(name: String) throws {
        let path = Self.fixtures + "/invalid/" + name
        let r = try Self.run(["verify", path])
        #expect(r.status != 0)
        let lines = r.err.split(separator: "\n")
        #expect(lines.count == 1, "\(r.err)")
        #expect(lines.first?.hasPrefix("appattachctl: \(path)") == true, "\(r.err)")
        #expect(r.out.isEmpty)
    }

    @Test("valid packages verify", arguments: ["TestLinux.msix", "existingPackage.msix", "TestAppxPackage_x64.appx", "CentennialCoffee.appx"])
    func validPackagesVerify(name: String) throws {
        let r = try Self.run(["verify", Self.fixtures + "/" + name])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains(": OK ("))
    }

    @Test("inspect --json of a package is JSON with the identity")
    func inspectPackageJSON() throws {
        let r = try Self.run(["inspect", "--json", Self.fixtures + "/CentennialCoffee.appx"])
        #expect(r.status == 0, "\(r.err)")
        let json = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
        #expect(json != nil)
        #expect(r.out.contains("_8wekyb3d8bbwe"))
    }

    @Test("health with no agent answering: Unhealthy, exit status 2, naming the socket and the reason")
    func healthWithoutAgent() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let socket = dir + "/io.appattach.Manager"
        let r = try Self.run(["health"], environment: ["APPATTACH_SOCKET": socket, "PATH": "/usr/bin:/bin"])
        #expect(r.status == 2)
        #expect(r.out.hasPrefix("Unhealthy: the agent does not answer: ") && r.out.contains(socket), "\(r.out)")
        let json = try Self.run(["health", "--json"], environment: ["APPATTACH_SOCKET": socket, "PATH": "/usr/bin:/bin"])
        #expect(json.status == 2)
        let object = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any]
        #expect(object?["state"] as? String == "Unhealthy" && object?["exitStatus"] as? Int == 2)
    }

    @Test("missing and too-small files give one-line errors")
    func badFiles() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data([1, 2]).write(to: URL(fileURLWithPath: dir + "/tiny"))
        for path in [dir + "/missing", dir + "/tiny"] {
            let r = try Self.run(["inspect", path])
            #expect(r.status == 1)
            #expect(r.err.split(separator: "\n").count == 1 && r.err.contains(path), "\(r.err)")
        }
    }

    @Test("a failed expand leaves nothing in the output directory")
    func failedExpandLeavesNothing() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Self.run(["expand", Self.fixtures + "/invalid/Invalid_Bad_Block.msix", "-o", dir + "/out.vhdx"])
        #expect(r.status == 1)
        #expect(r.err.split(separator: "\n").count == 1, "\(r.err)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test("expand, then inspect the image as JSON",
          .enabled(if: TestEnvironment.hasTool("mkfs.erofs"), "needs mkfs.erofs"))
    func expandAndInspect() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = dir + "/app.vhdx"
        let e = try Self.run(["expand", Self.fixtures + "/TestLinux.msix", "-o", image, "--json"])
        #expect(e.status == 0, "\(e.err)")
        let expanded = try JSONSerialization.jsonObject(with: Data(e.out.utf8)) as? [String: Any]
        let offset = try #require(expanded?["partitionOffset"] as? Int)
        let i = try Self.run(["inspect", "--json", image])
        #expect(i.status == 0, "\(i.err)")
        #expect(i.out.contains("\(offset)"), "inspect reports the same mapping as expand")
    }

    @Test("staging needs root, and says so", .enabled(if: TestEnvironment.isRoot && TestEnvironment.hasTool("setpriv"), "needs root to switch to nobody"))
    func stageNeedsRoot() throws {
        let r = try Self.run(["stage", Self.fixtures + "/TestLinux.msix"], as: "65534")
        #expect(r.status == 1)
        #expect(r.err.contains("needs root"), "\(r.err)")
    }
}
