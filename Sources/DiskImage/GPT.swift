/// A GUID partition table (UEFI 2.10 §5.3): header at LBA 1 and a partition entry array, with a
/// backup array and header at the end of the disk, each covered by CRC-32.
public struct GPT: Equatable, Sendable {
    /// One partition entry (UEFI 2.10 §5.3.3, table 5.6).
    public struct Entry: Equatable, Sendable {
        public var typeGuid: GUID
        public var uniqueGuid: GUID
        public var firstLBA: UInt64
        /// Inclusive.
        public var lastLBA: UInt64
        public var attributes: UInt64
        /// Up to 36 UTF-16LE code units.
        public var name: String

        public init(typeGuid: GUID, uniqueGuid: GUID, firstLBA: UInt64, lastLBA: UInt64, attributes: UInt64 = 0, name: String) {
            self.typeGuid = typeGuid
            self.uniqueGuid = uniqueGuid
            self.firstLBA = firstLBA
            self.lastLBA = lastLBA
            self.attributes = attributes
            self.name = name
        }

        func encoded(size: Int) -> [UInt8] {
            var b = [UInt8](repeating: 0, count: size)
            b.put(typeGuid.mixedEndianBytes, at: 0)
            b.put(uniqueGuid.mixedEndianBytes, at: 16)
            b.putLE64(firstLBA, at: 32)
            b.putLE64(lastLBA, at: 40)
            b.putLE64(attributes, at: 48)
            b.put(encodeUTF16LE(name, capacity: 72), at: 56)
            return b
        }
    }

    /// The header fields (UEFI 2.10 §5.3.2, table 5.5).
    public struct Header: Equatable, Sendable {
        public static let size = 92
        public var myLBA: UInt64
        public var alternateLBA: UInt64
        public var firstUsableLBA: UInt64
        public var lastUsableLBA: UInt64
        public var diskGuid: GUID
        public var entriesLBA: UInt64
        public var entryCount: UInt32
        public var entrySize: UInt32
        public var entriesCRC: UInt32

        /// The 92-byte header padded to `sectorSize`, with its CRC.
        func encoded(sectorSize: Int) -> [UInt8] {
            var b = [UInt8](repeating: 0, count: sectorSize)
            b.put(ascii: "EFI PART", at: 0)
            b.putLE32(0x0001_0000, at: 8)
            b.putLE32(UInt32(Self.size), at: 12)
            b.putLE64(myLBA, at: 24)
            b.putLE64(alternateLBA, at: 32)
            b.putLE64(firstUsableLBA, at: 40)
            b.putLE64(lastUsableLBA, at: 48)
            b.put(diskGuid.mixedEndianBytes, at: 56)
            b.putLE64(entriesLBA, at: 72)
            b.putLE32(entryCount, at: 80)
            b.putLE32(entrySize, at: 84)
            b.putLE32(entriesCRC, at: 88)
            b.putLE32(CRC32.checksum(Array(b[0..<Self.size])), at: 16)
            return b
        }

        /// Decodes and checks signature, header size and header CRC.
        init(decoding b: [UInt8]) throws(DiskFormatError) {
            guard b.matches("EFI PART") else { throw DiskFormatError("no GPT signature 'EFI PART'") }
            let headerSize = Int(b.le32(12))
            guard headerSize >= Self.size, headerSize <= b.count else {
                throw DiskFormatError("GPT header size \(headerSize) is invalid")
            }
            let stored = b.le32(16), computed = CRC32.checksum(Array(b[0..<headerSize]), zeroingFieldAt: 16)
            guard stored == computed else {
                throw DiskFormatError("GPT header checksum is \(hex32(stored)), expected \(hex32(computed))")
            }
            myLBA = b.le64(24); alternateLBA = b.le64(32)
            firstUsableLBA = b.le64(40); lastUsableLBA = b.le64(48)
            diskGuid = GUID(mixedEndian: b, at: 56)
            entriesLBA = b.le64(72); entryCount = b.le32(80); entrySize = b.le32(84); entriesCRC = b.le32(88)
        }

        init(myLBA: UInt64, alternateLBA: UInt64, firstUsableLBA: UInt64, lastUsableLBA: UInt64, diskGuid: GUID,
             entriesLBA: UInt64, entryCount: UInt32, entrySize: UInt32, entriesCRC: UInt32) {
            self.myLBA = myLBA; self.alternateLBA = alternateLBA
            self.firstUsableLBA = firstUsableLBA; self.lastUsableLBA = lastUsableLBA
            self.diskGuid = diskGuid; self.entriesLBA = entriesLBA
            self.entryCount = entryCount; self.entrySize = entrySize; self.entriesCRC = entriesCRC
        }
    }

    /// 128 entries of 128 bytes (16 KiB), the minimum array the spec requires and what every
    /// partitioning tool writes.
    public static let defaultEntryCount: UInt32 = 128
    public static let defaultEntrySize: UInt32 = 128

    public var diskGuid: GUID
    /// The used entries, in table order (unused slots are dropped; `number` is slot + 1).
    public var partitions: [(number: Int, entry: Entry)]

    public static func == (a: GPT, b: GPT) -> Bool {
        a.diskGuid == b.diskGuid && a.partitions.map(\.number) == b.partitions.map(\.number)
            && a.partitions.map(\.entry) == b.partitions.map(\.entry)
    }

    public init(diskGuid: GUID, partitions: [Entry]) {
        self.diskGuid = diskGuid
        self.partitions = partitions.enumerated().map { ($0.offset + 1, $0.element) }
    }

    /// The on-disk pieces of a table for a disk of `diskSectors` sectors: the protective MBR,
    /// primary header and entry array for LBA 0 onward, and the backup entry array and header
    /// that end at the disk's last sector (`backupLBA` is where `backup` starts).
    public func encoded(diskSectors: UInt64, sectorSize: Int = 512) -> (primary: [UInt8], backup: [UInt8], backupLBA: UInt64) {
        let entrySize = Int(Self.defaultEntrySize)
        var array = [UInt8]()
        for slot in 0..<Int(Self.defaultEntryCount) {
            if let p = partitions.first(where: { $0.number == slot + 1 }) {
                array += p.entry.encoded(size: entrySize)
            } else {
                array += [UInt8](repeating: 0, count: entrySize)
            }
        }
        let arraySectors = UInt64((array.count + sectorSize - 1) / sectorSize)
        array += [UInt8](repeating: 0, count: Int(arraySectors) * sectorSize - array.count)
        let arrayCRC = CRC32.checksum(Array(array[0..<(entrySize * Int(Self.defaultEntryCount))]))
        let lastLBA = diskSectors - 1
        let backupArrayLBA = lastLBA - arraySectors
        let primary = Header(myLBA: 1, alternateLBA: lastLBA, firstUsableLBA: 2 + arraySectors,
                             lastUsableLBA: backupArrayLBA - 1, diskGuid: diskGuid, entriesLBA: 2,
                             entryCount: Self.defaultEntryCount, entrySize: Self.defaultEntrySize, entriesCRC: arrayCRC)
        var backup = primary
        backup.myLBA = lastLBA
        backup.alternateLBA = 1
        backup.entriesLBA = backupArrayLBA
        var mbr = MBR.protective(diskSectors: diskSectors).encoded()
        mbr += [UInt8](repeating: 0, count: sectorSize - mbr.count)
        return (mbr + primary.encoded(sectorSize: sectorSize) + array,
                array + backup.encoded(sectorSize: sectorSize), backupArrayLBA)
    }

    /// The first and last LBA that partitions may use on a disk of `diskSectors` sectors with the
    /// default entry array.
    public static func usableRange(diskSectors: UInt64, sectorSize: Int = 512) -> ClosedRange<UInt64> {
        let arraySectors = UInt64(Int(defaultEntryCount * defaultEntrySize) / sectorSize)
        return (2 + arraySectors)...(diskSectors - 2 - arraySectors)
    }

    /// Reads a table through `read(offset, count)` on a disk of `diskSize` bytes: the primary
    /// header at LBA 1, or the backup at the last LBA when the primary is damaged. Every LBA and
    /// count taken from a header is checked against the disk before it is read.
    public static func read(diskSize: UInt64, sectorSize: Int,
                            _ read: (UInt64, Int) throws -> [UInt8]) throws -> GPT {
        let sector = UInt64(sectorSize)
        let diskSectors = diskSize / sector
        guard diskSectors >= 3 else { throw DiskFormatError("disk too small for a GPT") }
        func load(at lba: UInt64) throws -> GPT {
            let header = try Header(decoding: try read(lba * sector, sectorSize))
            guard header.myLBA == lba else { throw DiskFormatError("GPT header at LBA \(lba) says it is at LBA \(header.myLBA)") }
            guard header.entrySize >= 128, header.entrySize % 8 == 0, header.entrySize <= 4096,
                  header.entryCount > 0, header.entryCount <= 65536 else {
                throw DiskFormatError("GPT header has \(header.entryCount) entries of \(header.entrySize) bytes")
            }
            let arrayBytes = UInt64(header.entryCount) * UInt64(header.entrySize)
            guard header.entriesLBA < diskSectors, arrayBytes <= diskSize - header.entriesLBA * sector else {
                throw DiskFormatError("GPT partition entries at LBA \(header.entriesLBA) extend beyond the end of the disk")
            }
            guard header.firstUsableLBA <= header.lastUsableLBA, header.lastUsableLBA < diskSectors else {
                throw DiskFormatError("GPT usable range \(header.firstUsableLBA)–\(header.lastUsableLBA) does not fit the disk")
            }
            let array = try read(header.entriesLBA * sector, Int(arrayBytes))
            let crc = CRC32.checksum(array)
            guard crc == header.entriesCRC else {
                throw DiskFormatError("GPT partition entry array checksum is \(hex32(header.entriesCRC)), expected \(hex32(crc))")
            }
            // The property's own labelled type: an unlabelled [(Int, Entry)] is converted element
            // by element with run-time casts on assignment.
            var parts: [(number: Int, entry: Entry)] = []
            for i in 0..<Int(header.entryCount) {
                let o = i * Int(header.entrySize)
                let type = GUID(mixedEndian: array, at: o)
                if type.isZero { continue }
                let e = Entry(typeGuid: type, uniqueGuid: GUID(mixedEndian: array, at: o + 16),
                              firstLBA: array.le64(o + 32), lastLBA: array.le64(o + 40),
                              attributes: array.le64(o + 48), name: decodeUTF16(array.bytes(o + 56, 72), bigEndian: false))
                guard e.firstLBA <= e.lastLBA, e.firstLBA >= header.firstUsableLBA, e.lastLBA <= header.lastUsableLBA else {
                    throw DiskFormatError("GPT partition \(i + 1) (LBA \(e.firstLBA)–\(e.lastLBA)) lies outside the usable range")
                }
                parts.append((number: i + 1, entry: e))
            }
            var gpt = GPT(diskGuid: header.diskGuid, partitions: [])
            gpt.partitions = parts
            return gpt
        }
        do {
            return try load(at: 1)
        } catch let primaryError as DiskFormatError {
            // UEFI 2.10 §5.3.2: if the primary table is corrupt, the backup is used.
            do { return try load(at: diskSectors - 1) } catch let backupError as DiskFormatError {
                throw DiskFormatError("\(primaryError.reason); backup: \(backupError.reason)")
            }
        }
    }
}

/// Names of well-known partition types, for reports, and which of them hold no user filesystem.
public enum PartitionTypes {
    public static let linuxFilesystem = GUID("0FC63DAF-8483-4772-8E79-3D69D8477DE4")!
    public static let efiSystem = GUID("C12A7328-F81F-11D2-BA4B-00A0C93EC93B")!
    public static let biosBoot = GUID("21686148-6449-6E6F-744E-656564454649")!
    public static let microsoftReserved = GUID("E3C9E316-0B5C-4DB8-817D-F92DF00215AE")!
    public static let microsoftBasicData = GUID("EBD0A0A2-B9E5-4433-87C0-68B6B72699C7")!
    public static let linuxSwap = GUID("0657FD6D-A4AB-43C4-84E5-0933C84B4F4F")!

    /// GPT types that never hold the data filesystem an image is about.
    static let nonDataGPT: [GUID] = [efiSystem, biosBoot, microsoftReserved, linuxSwap]
    /// MBR types that are containers or system partitions.
    static let nonDataMBR: [UInt8] = [0x05, 0x0F, 0x85, 0xEE, 0xEF, 0x82]

    static func name(gpt: GUID) -> String {
        switch gpt {
        case linuxFilesystem: "Linux filesystem"
        case efiSystem: "EFI system"
        case biosBoot: "BIOS boot"
        case microsoftReserved: "Microsoft reserved"
        case microsoftBasicData: "Microsoft basic data"
        case linuxSwap: "Linux swap"
        default: "unknown"
        }
    }

    static func name(mbr: UInt8) -> String {
        switch mbr {
        case 0x83: "Linux"
        case 0x07: "NTFS/exFAT"
        case 0x0B, 0x0C: "FAT32"
        case 0x05, 0x0F, 0x85: "extended"
        case 0x82: "Linux swap"
        case 0xEE: "GPT protective"
        case 0xEF: "EFI system"
        default: "unknown"
        }
    }
}
