import DiskImage
import Expand
import Foundation
import Glibc
import LinuxSystem
import Staging
import Testing
import TestSupport

/// Every image format the expand tool writes, and images made by qemu-img (fixed and dynamic
/// VHD and VHDX, GPT and MBR), staged for real through `ImageMapping.read`.
@Suite("staging: image formats", .serialized,
       .enabled(if: TestEnvironment.hasLoopDevices, "needs root and /dev/loop-control"),
       .enabled(if: TestEnvironment.hasTool("mkfs.erofs") && TestEnvironment.hasTool("qemu-img") && TestEnvironment.hasTool("sfdisk"),
                "needs mkfs.erofs, qemu-img and sfdisk"))
struct StagingFormatsTests {
    static let fixture = TestEnvironment.msixFixtures + "/TestLinux.msix"

    /// Stages `image`, checks the package is exposed and readable, destages, checks nothing is left.
    func stageAndDestage(_ host: ScratchHost, _ image: String) throws {
        let staged = try Stage(paths: host.paths, mapper: ImageMapping.read).run(image).image
        #expect(staged.packages.count == 1)
        let manifest = try #require(staged.packages.first).mountPoint + "/AppxManifest.xml"
        #expect(FileManager.default.contents(atPath: manifest)?.isEmpty == false)
        _ = try Destage(paths: host.paths).run(image)
        #expect(host.mounts.isEmpty)
        #expect(waitUntil { host.loopDevices.isEmpty })
    }

    @Test("images written by expand stage and destage",
          arguments: [(ImageFormat.vhdx, ImageFilesystem.erofs), (.vhd, .erofs), (.vhdx, .ext4), (.vhd, .ext4), (.erofs, .erofs)])
    func expandFormats(format: ImageFormat, filesystem: ImageFilesystem) throws {
        let host = try ScratchHost()
        let image = host.dir + "/app.\(format.rawValue)"
        _ = try Expand(ExpandOptions(packages: [Self.fixture], output: image, format: format, filesystem: filesystem,
                                     rootDirectory: "apps")).run()
        try stageAndDestage(host, image)
    }

    /// A raw disk with one partition table (`gpt` or `dos`) whose first partition, at 1 MiB,
    /// holds an EROFS filesystem with the package.
    func rawDisk(_ host: ScratchHost, label: String) throws -> String {
        let fs = host.dir + "/fs.erofs"
        _ = try Expand(ExpandOptions(packages: [Self.fixture], output: fs, format: .erofs)).run()
        let fsSize = try OpenFile.openForReading(fs).size()
        let raw = host.dir + "/disk-\(label).raw"
        let sectors = (fsSize + 511) / 512
        let diskBytes = (2048 + sectors + 2048) * 512
        _ = FileManager.default.createFile(atPath: raw, contents: nil)
        try #require(truncate(raw, off_t(diskBytes)) == 0)
        let script = "label: \(label)\nstart=2048, size=\(sectors), type=\(label == "gpt" ? "L" : "83")\n"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sfdisk", "--quiet", raw]
        let input = Pipe()
        p.standardInput = input
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        input.fileHandleForWriting.write(Data(script.utf8))
        try input.fileHandleForWriting.close()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "sfdisk failed")
        let dd = try TestEnvironment.run(["dd", "if=\(fs)", "of=\(raw)", "bs=512", "seek=2048", "conv=notrunc", "status=none"])
        try #require(dd.status == 0, "\(dd.output)")
        return raw
    }

    @Test("qemu-img images stage, or are refused with the reason",
          arguments: [("vpc", "subformat=fixed", "gpt", true), ("vpc", "subformat=fixed", "dos", true),
                      ("vhdx", "subformat=fixed,block_state_zero=off", "gpt", true),
                      ("vhdx", "subformat=fixed,block_state_zero=off", "dos", true),
                      ("vhdx", "subformat=dynamic,block_size=1M", "gpt", false),
                      ("vpc", "subformat=dynamic", "gpt", false)])
    func qemuImages(format: String, options: String, label: String, mustStage: Bool) throws {
        let host = try ScratchHost()
        let raw = try rawDisk(host, label: label)
        let image = host.dir + "/qemu.\(format == "vpc" ? "vhd" : "vhdx")"
        let convert = try TestEnvironment.run(["qemu-img", "convert", "-f", "raw", "-O", format, "-o", options, raw, image])
        try #require(convert.status == 0, "\(convert.output)")
        do {
            try stageAndDestage(host, image)
        } catch let error as DiskImageError where !mustStage {
            // A dynamic image maps only when its blocks are stored in order; otherwise the
            // reader says why, in one line naming the file.
            #expect(error.description.hasPrefix(image), "\(error)")
            #expect(error.description.contains("loop device"), "\(error)")
        }
        #expect(host.mounts.isEmpty)
    }
}
