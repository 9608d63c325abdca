import Foundation
import Glibc

/// Where the test material lives and what the machine can do, for gating tests.
public enum TestEnvironment {
    /// The project's root directory (the one holding Package.swift).
    public static let projectRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The MSIX packages the tests read, in the repository: `Tests/Fixtures/msix` (valid ones,
    /// and broken ones in `invalid/`; where they come from in `SOURCE`, their licence in `LICENSE`).
    public static let msixFixtures = projectRoot + "/Tests/Fixtures/msix"

    /// True when running as root.
    public static var isRoot: Bool { geteuid() == 0 }

    /// True when loop devices can be attached (root and `/dev/loop-control`).
    public static var hasLoopDevices: Bool { isRoot && access("/dev/loop-control", R_OK | W_OK) == 0 }

    /// True when the running kernel is at least `major.minor` (from `uname -r`).
    public static func kernelAtLeast(_ major: Int, _ minor: Int) -> Bool {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard parts.count == 2 else { return false }
        return (parts[0], parts[1]) >= (major, minor)
    }

    /// True when EROFS can be mounted from a regular file at an offset inside it (`fsoffset=`,
    /// Linux 6.16, with `EROFS_FS_BACKED_BY_FILE`) for the images the tests make in the system
    /// temp dir: staging then needs no loop device for EROFS. A file on tmpfs or ramfs cannot
    /// back EROFS (the kernel says ENOTBLK, and staging uses a loop device).
    public static var hasFileBackedEROFSAtOffset: Bool {
        kernelAtLeast(6, 16) && ((try? String(contentsOfFile: "/proc/filesystems", encoding: .utf8)) ?? "").contains("erofs")
            && !temporaryDirectoryIsInMemory
    }

    /// True when the system temp dir is on tmpfs or ramfs, which have no block mapping:
    /// no `FALLOC_FL_INSERT_RANGE`, and no file-backed EROFS.
    public static let temporaryDirectoryIsInMemory: Bool = {
        let type = (try? run(["stat", "--file-system", "--format=%T", NSTemporaryDirectory()]))?.output
        return ["tmpfs", "ramfs"].contains(type?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
    }()

    /// True when the account `name` exists (in NSS).
    public static func hasUser(_ name: String) -> Bool { getpwnam(name) != nil }

    /// True when `tool` is found on PATH.
    public static func hasTool(_ tool: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin:/usr/sbin:/sbin"
        for dir in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"] {
            if access("\(dir)/\(tool)", X_OK) == 0 { return true }
        }
        return false
    }

    /// What the name of every directory `makeTemporaryDirectory` makes starts with: after a run,
    /// no mount and no loop device's backing file may be left below a path containing
    /// `/appattach-test-`.
    public static let temporaryDirectoryPrefix = "appattach-test"

    /// A fresh empty directory (mode 0700) named `appattach-test-<label>-XXXXXX`, or
    /// `appattach-test-XXXXXX` without a label, in `parent` (the system temp dir if nil);
    /// the caller removes it.
    public static func makeTemporaryDirectory(_ label: String? = nil, in parent: String? = nil) -> String {
        let base = parent ?? NSTemporaryDirectory()
        let directory = base.hasSuffix("/") ? String(base.dropLast()) : base
        let name = [temporaryDirectoryPrefix, label].compactMap { $0 }.joined(separator: "-")
        var template = Array("\(directory)/\(name)-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(p != nil, "mkdtemp failed")
        return String(cString: p!)
    }

    /// Removes `directory` and everything below it, first making its directories the owner's
    /// to change: trees extracted from read-only images have 0555 directories, which a run as
    /// a user other than root could not empty otherwise.
    public static func removeTemporaryDirectory(_ directory: String) {
        _ = try? run(["chmod", "-R", "u+rwX", directory])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs a command and returns (exit status, stdout+stderr).
    @discardableResult
    public static func run(_ argv: [String], input: String? = nil) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
