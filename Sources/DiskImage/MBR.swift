/// A master boot record partition table in sector 0 (the classic PC layout; UEFI 2.10 §5.2.1):
/// four 16-byte entries at byte 446 and the signature 0x55 0xAA at byte 510, little-endian.
public struct MBR: Equatable, Sendable {
    /// One primary partition entry.
    public struct Entry: Equatable, Sendable {
        /// 0x80 for the active partition, else 0.
        public var bootIndicator: UInt8
        /// The partition type byte (0x83 Linux, 0x07 NTFS/exFAT, 0xEE GPT protective, 0x05/0x0F/0x85 extended…).
        public var type: UInt8
        public var firstLBA: UInt32
        public var sectorCount: UInt32

        public init(bootIndicator: UInt8 = 0, type: UInt8, firstLBA: UInt32, sectorCount: UInt32) {
            self.bootIndicator = bootIndicator
            self.type = type
            self.firstLBA = firstLBA
            self.sectorCount = sectorCount
        }

        /// An unused slot.
        public var isEmpty: Bool { type == 0 || sectorCount == 0 }
        /// An extended partition, a container of logical partitions chained by EBRs.
        public var isExtended: Bool { [0x05, 0x0F, 0x85].contains(type) }
    }

    public static let size = 512
    public static let gptProtectiveType: UInt8 = 0xEE

    public var diskSignature: UInt32
    public var entries: [Entry]

    public init(diskSignature: UInt32 = 0, entries: [Entry]) {
        precondition(entries.count <= 4)
        self.diskSignature = diskSignature
        self.entries = entries
    }

    /// The protective MBR of a GPT disk (UEFI 2.10 §5.2.3): one 0xEE partition from LBA 1 to the
    /// end of the disk, its size clamped to 0xFFFFFFFF for larger disks.
    public static func protective(diskSectors: UInt64) -> MBR {
        MBR(entries: [Entry(type: gptProtectiveType, firstLBA: 1,
                            sectorCount: UInt32(min(diskSectors - 1, 0xFFFF_FFFF)))])
    }

    /// The 512-byte sector. CHS fields hold the "use LBA" values 0xFE 0xFF 0xFF (end) and the
    /// UEFI-required 0x000200 start for the protective entry; readers use the LBA fields.
    public func encoded() -> [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.putLE32(diskSignature, at: 440)
        for (i, e) in entries.enumerated() {
            let o = 446 + 16 * i
            b[o] = e.bootIndicator
            b[o + 1] = 0x00; b[o + 2] = 0x02; b[o + 3] = 0x00
            b[o + 4] = e.type
            b[o + 5] = 0xFF; b[o + 6] = 0xFF; b[o + 7] = 0xFF
            b.putLE32(e.firstLBA, at: o + 8)
            b.putLE32(e.sectorCount, at: o + 12)
        }
        b[510] = 0x55; b[511] = 0xAA
        return b
    }

    /// True when the sector ends with the boot signature 0x55 0xAA.
    public static func hasSignature(_ sector: [UInt8]) -> Bool {
        sector.count >= 512 && sector[510] == 0x55 && sector[511] == 0xAA
    }

    /// Decodes sector 0 or an EBR. Throws when the signature is missing or an entry is malformed
    /// (boot indicator other than 0/0x80), which is how a volume boot sector that happens to end
    /// in 0x55AA is told apart from a partition table.
    public init(decoding b: [UInt8]) throws(DiskFormatError) {
        guard Self.hasSignature(b) else { throw DiskFormatError("no MBR signature 0x55AA") }
        diskSignature = b.le32(440)
        var entries: [Entry] = []
        for i in 0..<4 {
            let o = 446 + 16 * i
            let e = Entry(bootIndicator: b[o], type: b[o + 4], firstLBA: b.le32(o + 8), sectorCount: b.le32(o + 12))
            guard e.bootIndicator == 0 || e.bootIndicator == 0x80 else {
                throw DiskFormatError("MBR entry \(i + 1) has an invalid boot indicator \(e.bootIndicator)")
            }
            entries.append(e)
        }
        self.entries = entries
    }

    /// True when any entry is the GPT protective type.
    public var isProtective: Bool { entries.contains { $0.type == Self.gptProtectiveType } }
}
