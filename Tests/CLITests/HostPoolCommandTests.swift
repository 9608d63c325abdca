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

    /// A file `upload` accepts (an EROFS superblock's magic), different for each `seed`.
    static func fakeImage(_ path: String, seed: UInt8) throws {
        var bytes = [UInt8](repeating: seed, count: 64 << 10)
        bytes.replaceSubrange(0..<1024, with: [UInt8](repeating: 0, count: 1024))
        bytes.replaceSubrange(1024..<1028, with: [0xE2, 0xE1, 0xF5, 0xE0])
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test("the admin's verbs: add from the catalog, publish, add a version inactive, activate it, remove the old one, gc finds and deletes its image")
    func verbs() throws {
        let dir = TestEnvironment.makeTemporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let share = dir + "/share"
        try FileManager.default.createDirectory(atPath: share, withIntermediateDirectories: true)
        let v1 = "Contoso.Editor_1.0.0.0_x64__8wekyb3d8bbwe", v2 = "Contoso.Editor_2.0.0.0_x64__8wekyb3d8bbwe"
        try Self.fakeImage(dir + "/editor-1.erofs", seed: 1)
        try Self.fakeImage(dir + "/editor-2.erofs", seed: 2)
        #expect(try BuiltTool.run(["upload", dir + "/editor-1.erofs", "--share", share, "--package", v1]).status == 0)
        #expect(try BuiltTool.run(["upload", dir + "/editor-2.erofs", "--share", share, "--package", v2]).status == 0)

        let added = try BuiltTool.run(["hostpool", "add", "east", "editor-1.erofs", "--share", share, "--users", "alice", "--health", "Unhealthy"])
        #expect(added.status == 0, "\(added.err)")
        #expect(added.out.contains("\(v1)  active  delayed  Unhealthy  images/editor-1.erofs  user alice"), "\(added.out)")
        let published = try BuiltTool.run(["hostpool", "publish", "east", "Contoso.Editor_8wekyb3d8bbwe", "--share", share, "--groups", "finance"])
        #expect(published.status == 0 && published.out.contains("user alice, group finance"), "\(published.out)\(published.err)")

        // A second active version is what hosts refuse: the command says so and changes nothing.
        let before = try String(contentsOfFile: share + "/hostpools/east.toml", encoding: .utf8)
        let twice = try BuiltTool.run(["hostpool", "add", "east", "editor-2.erofs", "--share", share])
        #expect(twice.status != 0 && twice.err.contains("is already active"), "\(twice.err)")
        #expect(try String(contentsOfFile: share + "/hostpools/east.toml", encoding: .utf8) == before)

        #expect(try BuiltTool.run(["hostpool", "add", "east", "editor-2.erofs", "--share", share, "--inactive", "--users", "alice"]).status == 0)
        let activated = try BuiltTool.run(["hostpool", "activate", "east", v2, "--share", share])
        #expect(activated.status == 0)
        #expect(activated.out.contains("\(v1)  inactive") && activated.out.contains("\(v2)  active"), "\(activated.out)")
        let check = try BuiltTool.run(["hostpool", "check", share + "/hostpools/east.toml"])
        #expect(check.status == 0 && check.out.contains("2 packages (1 active, 1 inactive)"), "\(check.out)")

        // No host reports yet: nobody is in trouble.
        let status = try BuiltTool.run(["hostpool", "status", "east", "--share", share])
        #expect(status.status == 0 && status.out.hasPrefix("host pool east: 0 host(s)"), "\(status.out)")

        // The old version is still named (inactive): gc keeps both images.
        let kept = try BuiltTool.run(["gc", "--share", share])
        #expect(kept.status == 0 && kept.out.contains("nothing to remove"), "\(kept.out)")
        #expect(try BuiltTool.run(["hostpool", "remove", "east", v1, "--share", share]).status == 0)
        let listed = try BuiltTool.run(["gc", "--share", share])
        #expect(listed.out.contains("removable: images/editor-1.erofs (65536 bytes)"), "\(listed.out)")
        #expect(listed.out.contains("kept: images/editor-2.erofs: named by hostpools/east.toml (\(v2), active)"), "\(listed.out)")
        #expect(FileManager.default.fileExists(atPath: share + "/images/editor-1.erofs"), "listing removes nothing")
        let deleted = try BuiltTool.run(["gc", "--share", share, "--delete"])
        #expect(deleted.status == 0 && deleted.out.contains("removed: images/editor-1.erofs"), "\(deleted.out)")
        #expect(!FileManager.default.fileExists(atPath: share + "/images/editor-1.erofs"))
        #expect(!(try String(contentsOfFile: share + "/catalog.json", encoding: .utf8)).contains("editor-1.erofs"))
        #expect(try BuiltTool.run(["gc", "--share", share]).out.contains("nothing to remove"))
    }

    @Test("eight admins publishing at once: every one of their users is in the file (the catalog's lock)")
    func concurrentEditors() async throws {
        let dir = TestEnvironment.makeTemporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let share = dir + "/share"
        try FileManager.default.createDirectory(atPath: share + "/images", withIntermediateDirectories: true)
        try Self.fakeImage(share + "/images/notes.erofs", seed: 3)
        #expect(try BuiltTool.run(["hostpool", "add", "east", "notes.erofs", "--name", "Contoso.Notes_8wekyb3d8bbwe", "--share", share]).status == 0)
        try await withThrowingTaskGroup(of: Int32.self) { group in
            for n in 0..<8 {
                group.addTask {
                    try BuiltTool.run(["hostpool", "publish", "east", "Contoso.Notes_8wekyb3d8bbwe", "--share", share, "--users", "user\(n)"]).status
                }
            }
            for try await status in group { #expect(status == 0) }
        }
        let check = try BuiltTool.run(["hostpool", "check", share + "/hostpools/east.toml", "--json"])
        let json = try JSONSerialization.jsonObject(with: Data(check.out.utf8)) as? [String: Any]
        let users = ((json?["packages"] as? [[String: Any]])?.first?["users"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
        #expect(Set(users) == Set((0..<8).map { "user\($0)" }), "\(check.out)")
    }
}
