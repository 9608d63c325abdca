import Foundation
import Testing
import TestSupport
@testable import DiskImage

/// Our VHD and VHDX, built from real mkfs output, checked by independent tools: qemu-img,
/// libvhdi's vhdiinfo, sgdisk, fsck.erofs and e2fsck.
@Suite struct WriterValidationTests {
    enum FS: String, CaseIterable { case erofs, ext4 }

    static let cases: [(ContainerFormat, FS)] = [(.vhdx, .erofs), (.vhdx, .ext4), (.vhd, .erofs), (.vhd, .ext4)]

    /// The EROFS cases need mkfs.erofs and fsck.erofs, the ext4 ones mkfs.ext4 and e2fsck: every case needs all.
    @Test(.enabled(if: ImageFixtures.have("qemu-img", "vhdiinfo", "sgdisk", "mkfs.erofs", "fsck.erofs", "mkfs.ext4", "e2fsck"),
                   "needs qemu-img, vhdiinfo, sgdisk, mkfs.erofs, fsck.erofs, mkfs.ext4 and e2fsck"),
          arguments: cases)
    func wrappedImagePassesIndependentTools(format: ContainerFormat, fs: FS) throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fsPath = fs == .erofs ? try ImageFixtures.makeErofs(in: dir) : try ImageFixtures.makeExt4(in: dir)
        let original = try ImageFixtures.bytes(fsPath)
        let image = dir + "/image.\(format.rawValue)"
        try ImageFixtures.copy(fsPath, image)

        let layout = try DiskImageWriter.wrapFilesystem(at: image, format: format)
        #expect(layout.container == (format == .vhdx ? .vhdxFixed : .vhdFixed))
        #expect(layout.partitionTable == .gpt)
        #expect(layout.partitions.count == 1)
        #expect(layout.partitions.first?.type == "0FC63DAF-8483-4772-8E79-3D69D8477DE4")
        #expect(layout.partitions.first?.name == "appattach")
        #expect(layout.partitions.first?.start == 1024 * 1024)
        #expect(layout.filesystem == (fs == .erofs ? .erofs : .ext4))
        let mapping = try layout.requireMapping()
        #expect(mapping.size == UInt64(original.count))
        #expect(try ImageFixtures.bytes(image, mapping) == original, "bytes at the mapping differ from the filesystem")

        // qemu: format and size. qemu probes VHD only by a footer copy at offset 0, which fixed
        // disks do not have, so the VHD is opened as vpc explicitly (as Hyper-V knows by suffix).
        let qemuFormat = format == .vhdx ? "vhdx" : "vpc"
        let info = try ImageFixtures.qemuInfo(image, format: format == .vhdx ? nil : "vpc")
        #expect(info["format"] as? String == qemuFormat)
        #expect((info["virtual-size"] as? NSNumber)?.uint64Value == layout.virtualSize)
        // qemu-img check does not support the vpc format: the conversion below checks the VHD instead.
        if format == .vhdx {
            let check = try ImageFixtures.sh(["qemu-img", "check", "-f", "vhdx", image])
            #expect(check.contains("No errors were found"), "qemu-img check: \(check)")
        }

        // qemu's reading of the disk equals ours, byte for byte, and the GPT in it is valid.
        let raw = dir + "/converted.raw"
        try ImageFixtures.sh(["qemu-img", "convert", "-f", qemuFormat, "-O", "raw", image, raw])
        let rawBytes = try ImageFixtures.bytes(raw)
        #expect(UInt64(rawBytes.count) == layout.virtualSize)
        let disk = try DiskImageReader.openVirtualDisk(image)
        #expect(try disk.read(count: Int(disk.size), at: 0) == rawBytes, "qemu and our reader disagree on the disk's contents")
        #expect(Array(rawBytes[(1 << 20)..<((1 << 20) + original.count)]) == original)
        let sgdisk = try ImageFixtures.sh(["sgdisk", "-v", raw])
        #expect(sgdisk.contains("No problems found"), "sgdisk -v: \(sgdisk)")

        // libvhdi reads the container and agrees on the media size.
        let vhdi = try ImageFixtures.sh(["vhdiinfo", image])
        #expect(vhdi.contains("(\(layout.virtualSize) bytes)"), "vhdiinfo: \(vhdi)")
        #expect(vhdi.contains("Fixed"), "vhdiinfo: \(vhdi)")

        // The filesystem at the reported range passes its own checker.
        let extracted = dir + "/extracted.\(fs.rawValue)"
        try Data(try ImageFixtures.bytes(image, mapping)).write(to: URL(fileURLWithPath: extracted))
        if fs == .erofs {
            try ImageFixtures.sh(["fsck.erofs", extracted])
        } else {
            try ImageFixtures.sh(["e2fsck", "-fn", extracted])
        }
    }

    @Test(.enabled(if: ImageFixtures.have("mkfs.erofs"), "needs mkfs.erofs"), arguments: ContainerFormat.allCases)
    func copyFallbackGivesTheSameLayout(format: ContainerFormat) throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fsPath = try ImageFixtures.makeErofs(in: dir)
        let original = try ImageFixtures.bytes(fsPath)
        let image = dir + "/copied.\(format.rawValue)"
        try ImageFixtures.copy(fsPath, image)
        let layout = try DiskImageWriter.wrapFilesystem(at: image, format: format, virtualSize: nil, strategy: .copy)
        let mapping = try layout.requireMapping()
        #expect(try ImageFixtures.bytes(image, mapping) == original)
        #expect(try ImageFixtures.fileSize(image) == (format == .vhd ? layout.virtualSize + 512 : mapping.offset - (1 << 20) + layout.virtualSize))
        // Nothing is left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }.isEmpty)
    }

    @Test(.enabled(if: ImageFixtures.have("mkfs.erofs", "qemu-img"), "needs mkfs.erofs and qemu-img"))
    func requestedVirtualSizeIsHonouredAndTooSmallIsRefused() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fsPath = try ImageFixtures.makeErofs(in: dir)
        let image = dir + "/sized.vhdx"
        try ImageFixtures.copy(fsPath, image)
        let layout = try DiskImageWriter.wrapFilesystem(at: image, format: .vhdx, virtualSize: 64 << 20)
        #expect(layout.virtualSize == 64 << 20)
        #expect((try ImageFixtures.qemuInfo(image)["virtual-size"] as? NSNumber)?.uint64Value == 64 << 20)

        let small = dir + "/small.vhd"
        try ImageFixtures.copy(fsPath, small)
        #expect(throws: DiskImageError.self) { try DiskImageWriter.wrapFilesystem(at: small, format: .vhd, virtualSize: 1 << 20) }
        // A refused wrap leaves the filesystem untouched.
        #expect(try ImageFixtures.bytes(small) == (try ImageFixtures.bytes(fsPath)))
    }

    @Test func refusesFilesThatAreNotFilesystems() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/junk"
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: DiskImageError.self) { try DiskImageWriter.wrapFilesystem(at: path, format: .vhdx) }
        #expect(error?.description.hasPrefix(path + ": ") == true)
    }

    /// Converting a 300 MB filesystem file: with FALLOC_FL_INSERT_RANGE no payload is copied,
    /// so the time does not grow with the file. Prints the measurement.
    @Test(.enabled(if: ImageFixtures.have("mkfs.ext4", "fallocate"), "needs mkfs.ext4 and fallocate"),
          .enabled(if: !TestEnvironment.temporaryDirectoryIsInMemory,
                   "the temp dir is on tmpfs, which has no FALLOC_FL_INSERT_RANGE: set TMPDIR to a directory on ext4 or XFS"))
    func wrappingLargeFileIsFastWithInsertRange() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/big.ext4"
        // Allocated (not sparse) 300 MB, so extents exist all through the file.
        try ImageFixtures.sh(["fallocate", "-l", "300M", path])
        try ImageFixtures.sh(["mkfs.ext4", "-q", "-F", "-d", try ImageFixtures.makeSourceTree(in: dir), path])
        try ImageFixtures.sh(["sync", path])
        for format in ContainerFormat.allCases {
            let image = dir + "/big.\(format.rawValue)"
            try ImageFixtures.sh(["cp", "--reflink=never", path, image])
            try ImageFixtures.sh(["sync", image])
            let inode = try FileManager.default.attributesOfItem(atPath: image)[.systemFileNumber] as? NSNumber
            let clock = ContinuousClock()
            let start = clock.now
            let layout = try DiskImageWriter.wrapFilesystem(at: image, format: format)
            let elapsed = clock.now - start
            print("wrapFilesystem(\(format.rawValue)) of a 300 MiB ext4 file took \(elapsed)")
            #expect(layout.mapping?.size == 300 << 20)
            // The same inode means the payload was shifted in place (INSERT_RANGE), not copied
            // into a new file. The time bound is loose because the machine may be shared.
            #expect(try FileManager.default.attributesOfItem(atPath: image)[.systemFileNumber] as? NSNumber == inode)
            #expect(elapsed < .seconds(10), "wrapping took \(elapsed); INSERT_RANGE should make it near-instant")
        }
    }
}
