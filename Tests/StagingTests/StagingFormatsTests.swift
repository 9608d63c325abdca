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
@Suite("staging: image formats (root: loop devices, mounts)", .serialized, .tags(.attachesLoopDevices, .mounts),
       .enabled(if: TestEnvironment.hasLoopDevices, "needs root and /dev/loop-control"),
       .enabled(if: TestEnvironment.hasTool("mkfs.erofs") && TestEnvironment.hasTool("qemu-img") && TestEnvironment.hasTool("sfdisk"),
                "needs mkfs.erofs, qemu-img and sfdisk"))
struct StagingFormatsTests {
    static let fixture = TestEnvironment.msixFixtures + "/TestLinux.msix"

    /// Stages `image`, checks the package is exposed and readable and how the filesystem is
    /// mapped, destages, checks nothing is left. An EROFS image is staged twice: straight from
    /// the file where the kernel can (`fsoffset=` for one inside a container), and on a loop
    /// device.
    func stageAndDestage(_ host: ScratchHost, _ image: String) throws {
        for fileBacked in [true, false] {
            let staged = try Stage(paths: host.paths, fileBackedEROFS: fileBacked, mapper: ImageMapping.read).run(image).image
            #expect(staged.packages.count == 1)
            let manifest = try #require(staged.packages.first).mountPoint + "/AppxManifest.xml"
            #expect(FileManager.default.contents(atPath: manifest)?.isEmpty == false)
            let mount = try #require(try MountTable.read().last { $0.mountPoint == staged.mountPoint })
            // `fsoffset` must be a multiple of the EROFS block size (a dynamic VHD's first block
            // is not), else the filesystem gets a loop device.
            let aligned = staged.mapping.offset % UInt64(staged.mapping.blockSize ?? 4096) == 0
            if staged.mapping.filesystem == .erofs && fileBacked && aligned && TestEnvironment.hasFileBackedEROFSAtOffset {
                #expect(staged.loopDevice == nil && host.loopDevices.isEmpty, "EROFS is mounted from the file itself")
                #expect(mount.source == staged.imagePath)
                #expect(mount.superOption("fsoffset") == (staged.mapping.offset > 0 ? "\(staged.mapping.offset)" : nil))
                #expect(mount.superOptions.contains("directio"))
                let status = try #require(StagingStatus.read(paths: host.paths).images.first)
                #expect(status.offset == staged.mapping.offset && status.directIO == true && status.loopDevice == nil)
            } else {
                let device = try #require(staged.loopDevice)
                #expect(mount.source == device)
                #expect(host.loopDevices.map(\.offset) == [staged.mapping.offset])
            }
            _ = try Destage(paths: host.paths).run(image)
            #expect(host.mounts.isEmpty)
            #expect(waitUntil { host.loopDevices.isEmpty })
            if staged.mapping.filesystem != .erofs { break }
        }
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
