import Foundation
import Testing
import TestSupport

/// Runs the built `appattachctl`, which sits beside the test bundle in the build directory.
enum BuiltTool {
    static let path: String = {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = runner.deletingLastPathComponent()
        // The runner is either the test bundle itself or a helper inside the build directory.
        for _ in 0..<3 where !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("appattachctl").path) {
            dir.deleteLastPathComponent()
        }
        return dir.appendingPathComponent("appattachctl").path
    }()

    static var isBuilt: Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// Exit status, stdout and stderr of `appattachctl arguments`.
    static func run(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }
}

@Suite("appattachctl hostpool check and upload", .enabled(if: BuiltTool.isBuilt, "needs the built appattachctl beside the tests"))
struct HostPoolCommandTests {
    @Test("a valid file prints its packages and exits 0")
    func valid() throws {
        let result = try BuiltTool.run(["hostpool", "check", TestEnvironment.projectRoot + "/config/hostpool-example.toml"])
        #expect(result.status == 0)
        #expect(result.out.contains(": 3 packages (2 active, 1 inactive)\n"))
        #expect(result.out.contains("Fabrikam.Accounts_1.0.0.0_neutral__8wekyb3d8bbwe  active  regular  Unhealthy  images/Fabrikam.Accounts.erofs\n"))
        #expect(result.err.isEmpty)
    }

    @Test("--user shows what a user gets, resolved through NSS on this machine")
    func user() throws {
        let dir = TestEnvironment.makeTemporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "[[package]]\nimage = \"images/a.vhdx\"\nname = \"Contoso.App_8wekyb3d8bbwe\"\nusers = [\"root\"]\n"
            .write(toFile: dir + "/p.toml", atomically: false, encoding: .utf8)
        let result = try BuiltTool.run(["hostpool", "check", dir + "/p.toml", "--user", "0", "--json"])
        #expect(result.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [String: Any]
        let user = json?["user"] as? [String: Any]
        #expect(user?["user"] as? String == "root")
        #expect((user?["packages"] as? [[String: Any]])?.first?["viaUser"] as? String == "root")
    }

    @Test("a bad file exits non-zero with one line naming file and line")
    func invalid() throws {
        let dir = TestEnvironment.makeTemporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "[[package]]\nimage = \"images/a.vhdx\"\nname = \"Contoso.App_8wekyb3d8bbwe\"\nregistration = \"eager\"\n"
            .write(toFile: dir + "/pool1.toml", atomically: false, encoding: .utf8)
        let result = try BuiltTool.run(["hostpool", "check", dir + "/pool1.toml"])
        #expect(result.status != 0)
        #expect(result.out.isEmpty)
        #expect(result.err == "appattachctl: \(dir)/pool1.toml:4: registration must be \"delayed\" or \"regular\", not \"eager\"\n")
    }

    @Test("upload prints what it did; a refused image exits non-zero with one line")
    func upload() throws {
        let dir = TestEnvironment.makeTemporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/share", withIntermediateDirectories: true)
        var bytes = [UInt8](repeating: 0x5A, count: 64 << 10)
        bytes.replaceSubrange(0..<1024, with: [UInt8](repeating: 0, count: 1024))
        bytes.replaceSubrange(1024..<1028, with: [0xE2, 0xE1, 0xF5, 0xE0])
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/app.erofs"))
        let first = try BuiltTool.run(["upload", dir + "/app.erofs", "--share", dir + "/share"])
        #expect(first.status == 0)
        #expect(first.out.hasPrefix("uploaded images/app.erofs (65536 bytes, raw, erofs, sha256 "))
        let again = try BuiltTool.run(["upload", dir + "/app.erofs", "--share", dir + "/share", "--json"])
        #expect(again.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(again.out.utf8)) as? [String: Any]
        #expect(json?["outcome"] as? String == "unchanged")

        try Data(count: 64 << 10).write(to: URL(fileURLWithPath: dir + "/blank.img"))
        let refused = try BuiltTool.run(["upload", dir + "/blank.img", "--share", dir + "/share"])
        #expect(refused.status != 0)
        #expect(refused.err == "appattachctl: \(dir)/blank.img: cannot be staged: found no known filesystem, hosts mount erofs, ext4, squashfs\n")
    }
}
