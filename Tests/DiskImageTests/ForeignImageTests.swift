import Foundation
import Testing
import TestSupport
@testable import DiskImage

/// The reader on images made by qemu-img (fixed and dynamic VHD, fixed and dynamic VHDX with
/// 1 MiB and 32 MiB blocks), with MBR (sfdisk) and GPT (sgdisk) partition tables and an EROFS
/// filesystem written into the partition.
@Suite struct ForeignImageTests {
    struct Variant: CustomStringConvertible, Sendable {
        var qemuFormat: String
        var options: String
        var container: ContainerKind
        var blockSize: UInt64?
        /// Whether the filesystem's range is one piece of the file.
        var contiguous: Bool
        var description: String { "\(qemuFormat) \(options)" }
    }

    static let variants: [Variant] = [
        Variant(qemuFormat: "vpc", options: "subformat=fixed", container: .vhdFixed, blockSize: nil, contiguous: true),
        // Dynamic VHD blocks are each preceded by a sector bitmap, so data is never contiguous.
        Variant(qemuFormat: "vpc", options: "subformat=dynamic", container: .vhdDynamic, blockSize: 2 << 20, contiguous: false),
        // qemu's default block_state_zero=on marks blocks it never wrote as ZERO (no file
        // offset) even in a fixed VHDX; written blocks are then placed elsewhere. The 20 MiB
        // partition holds a small filesystem followed by zeros, so it has such blocks.
        Variant(qemuFormat: "vhdx", options: "subformat=fixed,block_size=1M", container: .vhdxFixed, blockSize: 1 << 20, contiguous: false),
        Variant(qemuFormat: "vhdx", options: "subformat=fixed,block_size=1M,block_state_zero=off", container: .vhdxFixed, blockSize: 1 << 20, contiguous: true),
        Variant(qemuFormat: "vhdx", options: "subformat=fixed,block_size=32M", container: .vhdxFixed, blockSize: 32 << 20, contiguous: true),
        // qemu leaves all-zero blocks unallocated, and the filesystem is followed by zeros.
        Variant(qemuFormat: "vhdx", options: "subformat=dynamic,block_size=1M", container: .vhdxDynamic, blockSize: 1 << 20, contiguous: false),
        // The whole partition lies in the first 32 MiB block, which holds the GPT and is
        // therefore allocated: one piece of the file, so mappable although dynamic.
        Variant(qemuFormat: "vhdx", options: "subformat=dynamic,block_size=32M", container: .vhdxDynamic, blockSize: 32 << 20, contiguous: true),
    ]

    static let diskSize: UInt64 = 64 << 20
    static let partitionMiB = 20

    /// GPT disks are made with sgdisk, MBR ones with sfdisk: every case needs both.
    @Test(.enabled(if: ImageFixtures.have("qemu-img", "mkfs.erofs", "sgdisk", "sfdisk"), "needs qemu-img, mkfs.erofs, sgdisk and sfdisk"),
          arguments: variants, [true, false])
    func readsQemuImage(variant: Variant, gpt: Bool) throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fs = try ImageFixtures.makeErofs(in: dir)
        let fsBytes = try ImageFixtures.bytes(fs)
        let raw = dir + "/disk.raw"
        try ImageFixtures.makePartitionedRaw(at: raw, size: Self.diskSize, partitionMiB: Self.partitionMiB, gpt: gpt, filesystem: fs)
        let image = dir + "/disk.\(variant.qemuFormat)"
        try ImageFixtures.sh(["qemu-img", "convert", "-f", "raw", "-O", variant.qemuFormat, "-o", variant.options, raw, image])

        let layout = try DiskImageReader.inspect(image)
        #expect(layout.container == variant.container)
        let qemuSize = (try ImageFixtures.qemuInfo(image, format: variant.qemuFormat)["virtual-size"] as? NSNumber)?.uint64Value
        #expect(layout.virtualSize == qemuSize)
        #expect(layout.virtualSize >= Self.diskSize)
        #expect(layout.blockSize == variant.blockSize)
        #expect(layout.partitionTable == (gpt ? .gpt : .mbr))
        try #require(layout.partitions.count == 1)
        let p = layout.partitions[0]
        #expect(p.number == 1)
        #expect(p.start == 1 << 20)
        #expect(p.size == UInt64(Self.partitionMiB) << 20)
        #expect(p.type == (gpt ? "0FC63DAF-8483-4772-8E79-3D69D8477DE4" : "0x83"))
        #expect(p.name == (gpt ? "data" : nil))
        #expect(layout.selectedPartition == 1)
        #expect(layout.filesystem == .erofs)

        if variant.contiguous {
            let mapping = try layout.requireMapping()
            #expect(mapping.size == p.size)
            if variant.container == .vhdFixed { #expect(mapping.offset == p.start) }
            #expect(Array(try ImageFixtures.bytes(image, mapping).prefix(fsBytes.count)) == fsBytes)
        } else {
            #expect(layout.mapping == nil)
            #expect(layout.unmappableReason?.isEmpty == false)
            let error = #expect(throws: DiskImageError.self) { try layout.requireMapping() }
            #expect(error?.description.contains("cannot be attached with one loop device") == true)
        }

        // The whole virtual disk, read through the container, is the raw disk it was made from.
        let disk = try DiskImageReader.openVirtualDisk(image)
        let rawBytes = try ImageFixtures.bytes(raw)
        let read = try disk.read(count: Int(disk.size), at: 0)
        #expect(Array(read.prefix(rawBytes.count)) == rawBytes)
        #expect(read.dropFirst(rawBytes.count).allSatisfy { $0 == 0 })
    }

    /// A dynamic VHDX whose partition is written in full (no zero blocks): qemu allocates the
    /// blocks in order, so the filesystem is contiguous and can be mapped.
    @Test(.enabled(if: ImageFixtures.have("qemu-img", "mkfs.erofs", "sgdisk"), "needs qemu-img, mkfs.erofs and sgdisk"))
    func dynamicVHDXWithoutGapsIsMappable() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fs = try ImageFixtures.makeErofs(in: dir)
        let fsBytes = try ImageFixtures.bytes(fs)
        let raw = dir + "/full.raw"
        try ImageFixtures.makePartitionedRaw(at: raw, size: 8 << 20, partitionMiB: 4, gpt: true, filesystem: fs)
        // Fill the rest of the partition with non-zero bytes so that no block is left out.
        let filler = [UInt8](repeating: 0x5A, count: (4 << 20) - fsBytes.count)
        try ImageFixtures.write(filler, to: raw, at: (1 << 20) + UInt64(fsBytes.count))
        let image = dir + "/full.vhdx"
        try ImageFixtures.sh(["qemu-img", "convert", "-f", "raw", "-O", "vhdx", "-o", "subformat=dynamic,block_size=1M", raw, image])
        let layout = try DiskImageReader.inspect(image)
        #expect(layout.container == .vhdxDynamic)
        let mapping = try layout.requireMapping()
        #expect(mapping.size == 4 << 20)
        #expect(Array(try ImageFixtures.bytes(image, mapping).prefix(fsBytes.count)) == fsBytes)
    }

    @Test(.enabled(if: ImageFixtures.have("mkfs.ext4", "sgdisk"), "needs mkfs.ext4 and sgdisk"))
    func rawFilesystemAndRawDisk() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fs = try ImageFixtures.makeExt4(in: dir, megabytes: 4)
        let bare = try DiskImageReader.inspect(fs)
        #expect(bare.container == .raw)
        #expect(bare.partitionTable == PartitionTableKind.none)
        #expect(bare.filesystem == .ext4)
        #expect(bare.mapping == FileRange(offset: 0, size: 4 << 20))

        let raw = dir + "/disk.raw"
        try ImageFixtures.makePartitionedRaw(at: raw, size: 16 << 20, partitionMiB: 4, gpt: true, filesystem: fs)
        let disk = try DiskImageReader.inspect(raw)
        #expect(disk.partitionTable == .gpt)
        #expect(disk.filesystem == .ext4)
        #expect(disk.mapping == FileRange(offset: 1 << 20, size: 4 << 20))
    }
}
