import Foundation
import Testing
import TestSupport
@testable import DiskImage

/// Images that must be refused: dirty VHDX log, unknown required region or metadata item,
/// truncation, bad checksums. Each refusal is one line naming the file.
@Suite struct RefusalTests {
    /// What `makeImage` needs: for the tests that use it.
    static let canMakeImage = ImageFixtures.have("mkfs.erofs")

    /// A fresh fixed image of ours around a small EROFS, in a directory the caller removes
    /// (removed here if making the image fails).
    static func makeImage(_ format: ContainerFormat) throws -> (dir: String, path: String) {
        let dir = TestEnvironment.makeTemporaryDirectory()
        do {
            let fs = try ImageFixtures.makeErofs(in: dir)
            let path = dir + "/image.\(format.rawValue)"
            try ImageFixtures.copy(fs, path)
            _ = try DiskImageWriter.wrapFilesystem(at: path, format: format)
            return (dir, path)
        } catch {
            try? FileManager.default.removeItem(atPath: dir)
            throw error
        }
    }

    /// Expects `inspect` to refuse `path` with a message containing `words`.
    static func expectRefused(_ path: String, _ words: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: DiskImageError.self, sourceLocation: sourceLocation) { try DiskImageReader.inspect(path) }
        #expect(error?.description.hasPrefix(path + ": ") == true, "message should name the file: \(String(describing: error))", sourceLocation: sourceLocation)
        #expect(error?.description.contains(words) == true, "\(String(describing: error)) should mention '\(words)'", sourceLocation: sourceLocation)
        #expect(error?.description.contains("\n") == false, sourceLocation: sourceLocation)
    }

    static func readHeader(_ path: String, at offset: UInt64) throws -> VHDXHeader {
        try VHDXHeader(decoding: try ImageFixtures.bytes(path, FileRange(offset: offset, size: 4096)))
    }

    @Test(.enabled(if: canMakeImage, "needs mkfs.erofs"))
    func dirtyLogInCurrentHeaderIsRefused() throws {
        let (dir, path) = try Self.makeImage(.vhdx)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let h1 = try Self.readHeader(path, at: VHDXLayout.header1Offset)
        let h2 = try Self.readHeader(path, at: VHDXLayout.header2Offset)
        let (currentOffset, otherOffset) = h2.sequenceNumber > h1.sequenceNumber
            ? (VHDXLayout.header2Offset, VHDXLayout.header1Offset) : (VHDXLayout.header1Offset, VHDXLayout.header2Offset)

        // A LogGuid in the older header does not matter: the current one decides.
        var older = try Self.readHeader(path, at: otherOffset)
        older.logGuid = .random()
        try ImageFixtures.write(older.encoded(), to: path, at: otherOffset)
        #expect(try DiskImageReader.inspect(path).mapping != nil)

        var current = try Self.readHeader(path, at: currentOffset)
        current.logGuid = .random()
        try ImageFixtures.write(current.encoded(), to: path, at: currentOffset)
        // The crafted header is valid (checksum and all): the refusal is about the log.
        #expect(try Self.readHeader(path, at: currentOffset).logGuid == current.logGuid)
        Self.expectRefused(path, "log needs replay")
    }

    @Test(.enabled(if: canMakeImage, "needs mkfs.erofs"))
    func unknownRequiredRegionIsRefusedAndOptionalOneIgnored() throws {
        let (dir, path) = try Self.makeImage(.vhdx)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Room for the extra region: one more MiB at the end of the file.
        let size = try ImageFixtures.fileSize(path)
        try ImageFixtures.sh(["truncate", "-s", "\(size + (1 << 20))", path])
        func addRegion(required: Bool) throws {
            for offset in [VHDXLayout.regionTable1Offset, VHDXLayout.regionTable2Offset] {
                var table = try VHDXRegionTable(decoding: try ImageFixtures.bytes(path, FileRange(offset: offset, size: 65536)))
                table.entries = table.entries.filter { [VHDXRegionTable.batGuid, VHDXRegionTable.metadataGuid].contains($0.guid) }
                table.entries.append(.init(guid: .random(), fileOffset: size, length: 1 << 20, required: required))
                try ImageFixtures.write(table.encoded(), to: path, at: offset)
            }
        }
        try addRegion(required: false)
        #expect(try DiskImageReader.inspect(path).container == .vhdxFixed)
        try addRegion(required: true)
        Self.expectRefused(path, "unknown required region")
    }

    @Test(.enabled(if: canMakeImage, "needs mkfs.erofs"))
    func unknownRequiredMetadataItemIsRefused() throws {
        let (dir, path) = try Self.makeImage(.vhdx)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var table = try ImageFixtures.bytes(path, FileRange(offset: WrapPlan.vhdxMetadataOffset, size: 65536))
        let count = Int(table.le16(10))
        let entry = 32 + 32 * count
        table.put(GUID.random().mixedEndianBytes, at: entry)
        table.putLE32(0, at: entry + 16)
        table.putLE32(0, at: entry + 20)
        table.putLE32(VHDXMetadata.isRequired, at: entry + 24)
        table.putLE16(UInt16(count + 1), at: 10)
        try ImageFixtures.write(table, to: path, at: WrapPlan.vhdxMetadataOffset)
        Self.expectRefused(path, "unknown required metadata item")
    }

    @Test(.enabled(if: canMakeImage, "needs mkfs.erofs"))
    func repeatedMetadataItemIsRefused() throws {
        let (dir, path) = try Self.makeImage(.vhdx)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var table = try ImageFixtures.bytes(path, FileRange(offset: WrapPlan.vhdxMetadataOffset, size: 65536))
        let count = Int(table.le16(10))
        // A second copy of the first entry (an optional item, so only the repetition is wrong).
        let copy = Array(table[32..<64])
        table.put(copy, at: 32 + 32 * count)
        table.putLE32(table.le32(32 + 32 * count + 24) & ~VHDXMetadata.isRequired, at: 32 + 32 * count + 24)
        table.putLE16(UInt16(count + 1), at: 10)
        try ImageFixtures.write(table, to: path, at: WrapPlan.vhdxMetadataOffset)
        Self.expectRefused(path, "appears twice")
    }

    @Test(.enabled(if: canMakeImage, "needs mkfs.erofs"))
    func payloadBlockInsideTheImagesOwnStructuresIsRefused() throws {
        let (dir, path) = try Self.makeImage(.vhdx)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var entry = [UInt8](repeating: 0, count: 8)
        entry.putLE64(VHDXBAT.entry(state: 6, fileOffset: WrapPlan.vhdxMetadataOffset), at: 0)
        try ImageFixtures.write(entry, to: path, at: WrapPlan.vhdxBATOffset)
        Self.expectRefused(path, "overlaps the metadata region")
        entry.putLE64((UInt64.max << 20) | 6, at: 0)
        try ImageFixtures.write(entry, to: path, at: WrapPlan.vhdxBATOffset)
        Self.expectRefused(path, "impossible file offset")
    }

    @Test(.enabled(if: canMakeImage, "needs mkfs.erofs"), arguments: ContainerFormat.allCases)
    func truncatedImagesAreRefused(format: ContainerFormat) throws {
        let (dir, path) = try Self.makeImage(format)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let size = try ImageFixtures.fileSize(path)
        try ImageFixtures.sh(["truncate", "-s", "\(size - (1 << 20))", path])
        // A fixed VHD cut short loses its footer and reads as a raw disk whose GPT no longer fits.
        Self.expectRefused(path, format == .vhdx ? "truncated" : "GPT")
        if format == .vhdx {
            try ImageFixtures.sh(["truncate", "-s", "\(3 << 19)", path])
            Self.expectRefused(path, "beyond the end of the file")
            try ImageFixtures.sh(["truncate", "-s", "100000", path])
            Self.expectRefused(path, "truncated")
        }
    }

    @Test(.enabled(if: ImageFixtures.have("qemu-img"), "needs qemu-img"))
    func truncatedDynamicVHDIsRefused() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/dyn.vhd"
        try ImageFixtures.sh(["qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=dynamic", path, "16M"])
        #expect(try DiskImageReader.inspect(path).container == .vhdDynamic)
        try ImageFixtures.sh(["truncate", "-s", "\(try ImageFixtures.fileSize(path) - 512)", path])
        Self.expectRefused(path, "truncated")
    }

    @Test(.enabled(if: canMakeImage, "needs mkfs.erofs"))
    func badVHDFooterChecksumIsRefused() throws {
        let (dir, path) = try Self.makeImage(.vhd)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let footerOffset = try ImageFixtures.fileSize(path) - 512
        var footer = try ImageFixtures.bytes(path, FileRange(offset: footerOffset, size: 512))
        footer[48 + 7] ^= 0x02 // current size, low byte
        try ImageFixtures.write(footer, to: path, at: footerOffset)
        Self.expectRefused(path, "VHD footer checksum")
    }

    @Test(.enabled(if: canMakeImage, "needs mkfs.erofs"))
    func vhdxHeaderAndRegionTableCopiesStandInForEachOther() throws {
        let (dir, path) = try Self.makeImage(.vhdx)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let garbage = [UInt8](repeating: 0xA5, count: 64)
        // One damaged header or region table: the other copy is used.
        try ImageFixtures.write(garbage, to: path, at: VHDXLayout.header2Offset + 100)
        try ImageFixtures.write(garbage, to: path, at: VHDXLayout.regionTable1Offset + 100)
        #expect(try DiskImageReader.inspect(path).mapping != nil)
        // Both region tables damaged.
        try ImageFixtures.write(garbage, to: path, at: VHDXLayout.regionTable2Offset + 100)
        Self.expectRefused(path, "region table checksum")
        // Both headers damaged.
        try ImageFixtures.write(garbage, to: path, at: VHDXLayout.header1Offset + 100)
        Self.expectRefused(path, "no valid VHDX header")
    }

    @Test(.enabled(if: canMakeImage, "needs mkfs.erofs"))
    func damagedPrimaryGPTFallsBackToBackupAndBothDamagedIsRefused() throws {
        let (dir, path) = try Self.makeImage(.vhd)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let layout = try DiskImageReader.inspect(path)
        // Primary entry array (LBA 2) damaged: the backup at the end is used.
        try ImageFixtures.write([0xFF, 0xFF], to: path, at: 2 * 512 + 60)
        #expect(try DiskImageReader.inspect(path).partitions == layout.partitions)
        // Backup header (last LBA) damaged too.
        try ImageFixtures.write([0xFF, 0xFF], to: path, at: layout.virtualSize - 512 + 30)
        Self.expectRefused(path, "GPT")
    }

    @Test func emptyAndMissingFilesAreRefused() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let empty = dir + "/empty.vhdx"
        try #require(FileManager.default.createFile(atPath: empty, contents: Data()))
        Self.expectRefused(empty, "empty file")
        #expect(throws: (any Error).self) { try DiskImageReader.inspect(dir + "/missing.vhdx") }
    }

    /// Single-byte corruption anywhere in the structures of our VHDX and VHD: the reader either
    /// reads the image or refuses it with a `DiskImageError`; it never traps or reads out of bounds.
    @Test(.enabled(if: canMakeImage, "needs mkfs.erofs"), arguments: ContainerFormat.allCases)
    func corruptStructuresNeverCrashTheReader(format: ContainerFormat) throws {
        let (dir, path) = try Self.makeImage(format)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let layout = try DiskImageReader.inspect(path)
        let fileSize = try ImageFixtures.fileSize(path)
        // Where the structures are: VHDX front matter and GPT; VHD GPT and footer.
        let diskOffset = (layout.mapping?.offset ?? 0) - (1 << 20)
        var targets: [Range<UInt64>] = [diskOffset..<(diskOffset + 34 * 512),
                                        (fileSize - (format == .vhd ? 512 : 0) - 33 * 512)..<fileSize]
        if format == .vhdx {
            targets += [0..<(64 << 10), VHDXLayout.header1Offset..<(VHDXLayout.header1Offset + 4096),
                        VHDXLayout.regionTable1Offset..<(VHDXLayout.regionTable1Offset + 4096),
                        WrapPlan.vhdxMetadataOffset..<(WrapPlan.vhdxMetadataOffset + (64 << 10) + 64),
                        WrapPlan.vhdxBATOffset..<(WrapPlan.vhdxBATOffset + 256)]
        }
        var generator = SystemRandomNumberGenerator()
        var refused = 0
        for _ in 0..<300 {
            let range = targets.randomElement(using: &generator)!
            let offset = UInt64.random(in: range, using: &generator)
            let old = try ImageFixtures.bytes(path, FileRange(offset: offset, size: 1))
            try ImageFixtures.write([old[0] ^ UInt8.random(in: 1...255, using: &generator)], to: path, at: offset)
            do { _ = try DiskImageReader.inspect(path) } catch is DiskImageError { refused += 1 }
            try ImageFixtures.write(old, to: path, at: offset)
        }
        // Most single flips are absorbed by the second copy of a header, region table or GPT,
        // so the count of refusals varies; what matters is that nothing else happened.
        print("corrupted \(format.rawValue) 300 times: \(refused) refused, the rest read")
        #expect(try DiskImageReader.inspect(path) == layout)
    }
}
