import Foundation
import Testing
import TestSupport
@testable import DiskImage

/// Builds filesystems and disks with the system's tools, for tests that check our images
/// against independent implementations.
enum ImageFixtures {
    /// Runs a command and fails the test (with its output) unless it exits 0.
    @discardableResult
    static func sh(_ argv: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let (status, output) = try TestEnvironment.run(argv)
        try #require(status == 0, "\(argv.joined(separator: " ")) exited \(status): \(output)", sourceLocation: sourceLocation)
        return output
    }

    /// True when every tool is installed: for `.enabled(if:)` traits.
    static func have(_ tools: String...) -> Bool { tools.allSatisfy(TestEnvironment.hasTool) }

    /// A directory tree with a few files, some of them large enough to span many blocks.
    static func makeSourceTree(in dir: String) throws -> String {
        let src = dir + "/src"
        try FileManager.default.createDirectory(atPath: src + "/bin", withIntermediateDirectories: true)
        try Data("hello from appattach\n".utf8).write(to: URL(fileURLWithPath: src + "/README"))
        var generator = SystemRandomNumberGenerator()
        let random = Data((0..<(700 * 1024)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try random.write(to: URL(fileURLWithPath: src + "/bin/payload"))
        return src
    }

    /// An EROFS image of a small tree.
    static func makeErofs(in dir: String) throws -> String {
        let out = dir + "/fs.erofs"
        try sh(["mkfs.erofs", "--quiet", out, try makeSourceTree(in: dir)])
        return out
    }

    /// An ext4 image of `megabytes` MiB holding a small tree.
    static func makeExt4(in dir: String, megabytes: Int = 8) throws -> String {
        let out = dir + "/fs.ext4"
        try sh(["truncate", "-s", "\(megabytes)M", out])
        try sh(["mkfs.ext4", "-q", "-F", "-d", try makeSourceTree(in: dir), out])
        return out
    }

    static func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    static func bytes(_ path: String, _ range: FileRange) throws -> [UInt8] {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: range.offset)
        return [UInt8](try handle.read(upToCount: Int(range.size)) ?? Data())
    }

    static func write(_ bytes: [UInt8], to path: String, at offset: UInt64) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: offset)
        handle.write(Data(bytes))
    }

    static func copy(_ from: String, _ to: String) throws {
        try? FileManager.default.removeItem(atPath: to)
        try FileManager.default.copyItem(atPath: from, toPath: to)
    }

    static func fileSize(_ path: String) throws -> UInt64 {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as! NSNumber).uint64Value
    }

    /// `qemu-img info --output=json` as a dictionary.
    static func qemuInfo(_ path: String, format: String? = nil) throws -> [String: Any] {
        let args = ["qemu-img", "info", "--output=json"] + (format.map { ["-f", $0] } ?? []) + [path]
        let out = try sh(args)
        return try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
    }

    /// A raw disk of `size` bytes with one partition made by `sgdisk` (GPT) or `sfdisk` (MBR)
    /// starting at sector 2048 and `partitionMiB` long, and `filesystem`'s bytes written into it.
    static func makePartitionedRaw(at path: String, size: UInt64, partitionMiB: Int, gpt: Bool, filesystem: String) throws {
        try sh(["truncate", "-s", "\(size)", path])
        if gpt {
            try sh(["sgdisk", "-n", "1:2048:+\(partitionMiB)M", "-t", "1:8300", "-c", "1:data", path])
        } else {
            let (status, out) = try TestEnvironment.run(["sh", "-c", "echo 'start=2048, size=\(partitionMiB * 2048), type=83' | sfdisk -q \(path)"])
            try #require(status == 0, "sfdisk failed: \(out)")
        }
        try write(try bytes(filesystem), to: path, at: 2048 * 512)
    }
}
