import Foundation
import Glibc

/// Where the shared test material lives and what the machine can do, for gating tests.
public enum TestEnvironment {
    /// The project's root directory (the one holding Package.swift).
    public static let projectRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `../shared/fixtures/msix` beside the clone, or `APPATTACH_FIXTURES` if set.
    public static let msixFixtures: String = {
        if let env = ProcessInfo.processInfo.environment["APPATTACH_FIXTURES"] { return env }
        return URL(fileURLWithPath: projectRoot).deletingLastPathComponent()
            .appendingPathComponent("shared/fixtures/msix").path
    }()

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
    /// Linux 6.16, with `EROFS_FS_BACKED_BY_FILE`): staging then needs no loop device for EROFS.
    public static var hasFileBackedEROFSAtOffset: Bool {
        kernelAtLeast(6, 16) && ((try? String(contentsOfFile: "/proc/filesystems", encoding: .utf8)) ?? "").contains("erofs")
    }

    /// True when `tool` is found on PATH.
    public static func hasTool(_ tool: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin:/usr/sbin:/sbin"
        for dir in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"] {
            if access("\(dir)/\(tool)", X_OK) == 0 { return true }
        }
        return false
    }

    /// A fresh empty directory under the system temp dir; the caller removes it.
    public static func makeTemporaryDirectory(_ prefix: String = "appattach-test") -> String {
        let tmp = NSTemporaryDirectory().hasSuffix("/") ? String(NSTemporaryDirectory().dropLast()) : NSTemporaryDirectory()
        var template = Array("\(tmp)/\(prefix)-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(p != nil, "mkdtemp failed")
        return String(cString: p!)
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
