import Testing
@testable import DiskImage

/// Checksums, GUIDs, BAT arithmetic, geometry and structure round trips, without external tools.
@Suite struct PrimitiveTests {
    @Test func crc32cVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        // RFC 3720 (iSCSI) appendix B.4 vectors.
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
    }

    @Test func crc32cWithZeroedField() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for field in [0, 4, 1000, 4092] {
            var zeroed = bytes
            zeroed.replaceSubrange(field..<(field + 4), with: [0, 0, 0, 0])
            #expect(CRC32C.checksum(bytes, zeroingFieldAt: field) == CRC32C.checksum(zeroed), "field at \(field)")
        }
    }

    @Test func crc32Vectors() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
    }

    @Test func vhdFooterChecksum() throws {
        let footer = VHDFooter(dataOffset: VHDFooter.noDataOffset, timestamp: 0x1234_5678, creatorApplication: "test",
                               creatorVersion: 1, creatorHostOS: 0x5769_326B, size: 8 << 20,
                               geometry: VHDGeometry.forSectors(16384), diskType: .fixed, uniqueID: .zero)
        let bytes = footer.encoded()
        // One's complement of the byte sum with the checksum field zeroed, computed independently.
        var zeroed = bytes
        zeroed.replaceSubrange(64..<68, with: [0, 0, 0, 0])
        let sum = zeroed.reduce(UInt32(0)) { $0 &+ UInt32($1) }
        #expect(bytes.be32(64) == ~sum)
        #expect(try VHDFooter(decoding: bytes) == footer)
        var broken = bytes
        broken[100] = 1
        #expect(throws: DiskFormatError.self) { try VHDFooter(decoding: broken) }
    }

    @Test func vhdGeometryFollowsTheSpec() {
        // The spec's geometry never describes more sectors than asked, with 17, 31 or 63 per track.
        let g = VHDGeometry.forSectors(16384)
        #expect(g.totalSectors <= 16384)
        #expect([17, 31, 63].contains(Int(g.sectorsPerTrack)))
        // Large disks: 255 sectors per track, 16 heads.
        let big = VHDGeometry.forSectors(200 << 21)
        #expect(big.sectorsPerTrack == 255 && big.heads == 16)
        // Covering returns an exact geometry at or above the request.
        for sectors: UInt64 in [2048, 16417, 300 << 11, 1 << 25, 65535 * 16 * 63 + 7] {
            let (geometry, total) = VHDGeometry.covering(sectors: sectors)
            #expect(total >= sectors)
            #expect(geometry.totalSectors == total)
            #expect(total - sectors < 16 * 255)
        }
        #expect(VHDGeometry.covering(sectors: 1 << 32).geometry == .maximum)
    }

    @Test func guidRoundTripAndMixedEndian() throws {
        let linux = try #require(GUID("0FC63DAF-8483-4772-8E79-3D69D8477DE4"))
        #expect(linux.mixedEndianBytes == [0xAF, 0x3D, 0xC6, 0x0F, 0x83, 0x84, 0x72, 0x47,
                                           0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47, 0x7D, 0xE4])
        #expect(GUID(mixedEndian: linux.mixedEndianBytes) == linux)
        #expect(linux.description == "0FC63DAF-8483-4772-8E79-3D69D8477DE4")
        #expect(GUID("{0fc63daf-8483-4772-8e79-3d69d8477de4}") == linux)
        #expect(GUID("0FC63DAF-8483-4772-8E79-3D69D8477DE") == nil)
        #expect(GUID("0FC63DAF-8483-4772-8E79-3D69D8477DEX") == nil)
        #expect(GUID("0FC63DAF-8483-4772-8E793-D69D8477DE4") == nil)
        #expect(GUID("0FC63DAF+8483-4772-8E79-3D69D8477DE4") == nil)
        #expect(GUID("{0FC63DAF-8483-4772-8E79-3D69D8477DE4") == nil)
        #expect(GUID("0FC63DAF-8483-4772-8E79-3D69D8477DE4}") == nil)
        #expect(GUID("0FC63DAF-8483-4772-8E79-3D69D8477DE4 ") == nil)
        #expect(GUID("") == nil)
        #expect(GUID("0FC63DAF84834772-8E79-3D69D8477DE4-") == nil)
        let r = GUID.random()
        #expect(GUID(r.description) == r)
        #expect(r.textOrderBytes[6] >> 4 == 4)
        #expect(r != GUID.random())
    }

    @Test func batMaths() {
        let twoMiB = VHDXBAT(blockSize: 2 << 20, logicalSectorSize: 512, virtualDiskSize: 10 << 30)
        #expect(twoMiB.chunkRatio == 2048)
        #expect(twoMiB.payloadBlockCount == 5120)
        #expect(twoMiB.sectorBitmapBlockCount == 3)
        #expect(twoMiB.entryCount == 5120 + 2)
        #expect(twoMiB.payloadIndex(0) == 0)
        #expect(twoMiB.payloadIndex(2047) == 2047)
        #expect(twoMiB.payloadIndex(2048) == 2049)
        #expect(twoMiB.sectorBitmapIndex(0) == 2048)
        #expect(VHDXBAT(blockSize: 1 << 20, logicalSectorSize: 512, virtualDiskSize: 1 << 20).chunkRatio == 4096)
        #expect(VHDXBAT(blockSize: 32 << 20, logicalSectorSize: 4096, virtualDiskSize: 1 << 30).chunkRatio == 1024)
        // Differencing disks have whole chunks.
        #expect(VHDXBAT(blockSize: 2 << 20, logicalSectorSize: 512, virtualDiskSize: 10 << 30, hasParent: true).entryCount == 3 * 2049)
        let entry = VHDXBAT.entry(state: 6, fileOffset: 5 << 20)
        #expect(entry == 0x50_0006)
        #expect(VHDXBAT.state(entry) == 6 && VHDXBAT.fileOffset(entry) == 5 << 20)
    }

    @Test func vhdxHeaderSelection() throws {
        let a = VHDXHeader(sequenceNumber: 7, fileWriteGuid: .random(), dataWriteGuid: .random(), logLength: 1 << 20, logOffset: 1 << 20)
        var b = a
        b.sequenceNumber = 8
        let decodedA = try VHDXHeader(decoding: a.encoded()), decodedB = try VHDXHeader(decoding: b.encoded())
        #expect(decodedA == a)
        #expect(try VHDXHeader.current(.success(decodedA), .success(decodedB)).sequenceNumber == 8)
        #expect(try VHDXHeader.current(.success(decodedB), .success(decodedA)).sequenceNumber == 8)
        var corrupt = b.encoded()
        corrupt[200] ^= 1
        let failure: Result<VHDXHeader, DiskFormatError>
        do { failure = .success(try VHDXHeader(decoding: corrupt)) } catch { failure = .failure(error) }
        #expect(try VHDXHeader.current(.success(decodedA), failure).sequenceNumber == 7)
        #expect(throws: DiskFormatError.self) { try VHDXHeader.current(failure, failure) }
    }

    @Test func regionTableAndMetadataRoundTrip() throws {
        let table = VHDXRegionTable(entries: [
            .init(guid: VHDXRegionTable.batGuid, fileOffset: 3 << 20, length: 1 << 20, required: true),
            .init(guid: VHDXRegionTable.metadataGuid, fileOffset: 2 << 20, length: 1 << 20, required: true),
        ])
        let decoded = try VHDXRegionTable(decoding: table.encoded())
        #expect(decoded == table)
        let (bat, metadata) = try decoded.validate(fileSize: 8 << 20, log: (1 << 20)..<(2 << 20))
        #expect(bat.fileOffset == 3 << 20 && metadata.fileOffset == 2 << 20)
        #expect(throws: DiskFormatError.self) { try decoded.validate(fileSize: 3 << 20, log: (1 << 20)..<(2 << 20)) }
        #expect(throws: DiskFormatError.self) { try decoded.validate(fileSize: 8 << 20, log: (2 << 20)..<(3 << 20)) }

        let m = VHDXMetadata(blockSize: 1 << 20, leaveBlockAllocated: true, virtualDiskSize: 5 << 20,
                             virtualDiskID: .random(), logicalSectorSize: 512, physicalSectorSize: 4096)
        var region = m.encoded()
        region += [UInt8](repeating: 0, count: (1 << 20) - region.count)
        #expect(try VHDXMetadata(decodingRegion: region) == m)
        var bad = m
        bad.blockSize = 3 << 20
        var badRegion = bad.encoded()
        badRegion += [UInt8](repeating: 0, count: (1 << 20) - badRegion.count)
        #expect(throws: DiskFormatError.self) { try VHDXMetadata(decodingRegion: badRegion) }
    }

    @Test func gptEncodesValidCRCsAndReadsBack() throws {
        let entry = GPT.Entry(typeGuid: PartitionTypes.linuxFilesystem, uniqueGuid: .random(), firstLBA: 2048, lastLBA: 4095, name: "appattach")
        let gpt = GPT(diskGuid: .random(), partitions: [entry])
        let diskSectors: UInt64 = 8192
        let (primary, backup, backupLBA) = gpt.encoded(diskSectors: diskSectors)
        #expect(primary.count == 34 * 512 && backup.count == 33 * 512 && backupLBA == diskSectors - 33)
        // The header CRC covers 92 bytes with the field zeroed; the array CRC covers 128 × 128 bytes.
        let header = Array(primary[512..<1024])
        #expect(header.le32(16) == CRC32.checksum(Array(header[0..<92]), zeroingFieldAt: 16))
        #expect(header.le32(88) == CRC32.checksum(Array(primary[1024..<(1024 + 16384)])))
        #expect(MBR.hasSignature(Array(primary[0..<512])))
        var disk = [UInt8](repeating: 0, count: Int(diskSectors) * 512)
        disk.replaceSubrange(0..<primary.count, with: primary)
        disk.replaceSubrange(Int(backupLBA) * 512..<disk.count, with: backup)
        let read = try GPT.read(diskSize: UInt64(disk.count), sectorSize: 512) { o, n in Array(disk[Int(o)..<(Int(o) + n)]) }
        #expect(read == gpt)
        disk[1024 + 5] ^= 0xFF // primary array: the backup is used
        #expect(try GPT.read(diskSize: UInt64(disk.count), sectorSize: 512) { o, n in Array(disk[Int(o)..<(Int(o) + n)]) } == gpt)
        disk[disk.count - 512 + 20] ^= 0xFF // backup header too
        #expect(throws: DiskFormatError.self) {
            try GPT.read(diskSize: UInt64(disk.count), sectorSize: 512) { o, n in Array(disk[Int(o)..<(Int(o) + n)]) }
        }
    }

    @Test func mbrAndFilesystemMagic() throws {
        let protective = MBR.protective(diskSectors: 1 << 40)
        #expect(protective.entries[0].sectorCount == 0xFFFF_FFFF)
        let decoded = try MBR(decoding: protective.encoded())
        #expect(decoded.isProtective)
        var notMBR = protective.encoded()
        notMBR[446] = 0x12
        #expect(throws: DiskFormatError.self) { try MBR(decoding: notMBR) }

        var probe = [UInt8](repeating: 0, count: 4096)
        #expect(FilesystemKind.detect(probe) == .unknown)
        probe.putLE32(0xE0F5_E1E2, at: 1024)
        #expect(FilesystemKind.detect(probe) == .erofs)
        probe = [UInt8](repeating: 0, count: 4096)
        probe.putLE16(0xEF53, at: 1024 + 0x38)
        #expect(FilesystemKind.detect(probe) == .ext2)
        probe.putLE32(0x4, at: 1024 + 0x5C)
        #expect(FilesystemKind.detect(probe) == .ext3)
        probe.putLE32(0x40, at: 1024 + 0x60)
        #expect(FilesystemKind.detect(probe) == .ext4)
        #expect(FilesystemKind.detect(Array("hsqs".utf8) + [UInt8](repeating: 0, count: 100)) == .squashfs)
        #expect(FilesystemKind.detect([0xEB, 0x52, 0x90] + Array("NTFS    ".utf8)) == .ntfs)
    }

    @Test func wrapPlanArithmetic() throws {
        let vhdx = try WrapPlan(format: .vhdx, filesystemSize: 300 << 20)
        #expect(vhdx.partitionSize == 300 << 20)
        #expect(vhdx.diskSize == 302 << 20) // 1 MiB + 300 MiB + backup GPT, rounded to MiB
        #expect(vhdx.diskOffset == 4 << 20) // header section, log, metadata, 1 MiB BAT
        #expect(vhdx.prefix == 5 << 20)
        #expect(vhdx.fileSize == (4 << 20) + (302 << 20))
        #expect(vhdx.bat.entryCount == 302)

        let vhd = try WrapPlan(format: .vhd, filesystemSize: 300 << 20)
        #expect(vhd.diskOffset == 0 && vhd.prefix == 1 << 20)
        #expect(vhd.diskSize >= 302 << 20)
        #expect(vhd.geometry?.totalSectors == vhd.diskSize / 512)
        #expect(vhd.fileSize == vhd.diskSize + 512)

        // Odd sizes are padded to whole 4 KiB sectors.
        #expect(try WrapPlan(format: .vhdx, filesystemSize: 5000).partitionSize == 8192)
        #expect(throws: DiskFormatError.self) { try WrapPlan(format: .vhdx, filesystemSize: 0) }
        #expect(throws: DiskFormatError.self) { try WrapPlan(format: .vhdx, filesystemSize: 10 << 20, virtualSize: 10 << 20) }
        #expect(throws: DiskFormatError.self) { try WrapPlan(format: .vhd, filesystemSize: 3000 << 30) }
    }
}

@Suite("UTF-16 strings in headers")
struct UTF16CodingTests {
    @Test("VHDX creator strings round-trip, surrogate pairs and all, and stop at NUL")
    func creatorRoundTrip() {
        for text in ["appattach 1.0", "qemu v8.2.0", "Ünïcödé ✓ 𝄞 emoji 🚀", ""] {
            let identifier = VHDXFileIdentifier(creator: text)
            #expect((try? VHDXFileIdentifier(decoding: identifier.encoded()))?.creator == text)
        }
        #expect(decodeUTF16([0x41, 0x00, 0x00, 0xD8, 0x42, 0x00], bigEndian: false) == "A\u{FFFD}B", "a lone surrogate is replaced")
        #expect(decodeUTF16([0x00, 0x41, 0x00, 0x00, 0x00, 0x42], bigEndian: true) == "A")
    }
}
