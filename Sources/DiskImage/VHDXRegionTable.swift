/// The VHDX region table (MS-VHDX §2.2.3): a 64 KiB structure listing the BAT, the metadata region
/// and any other regions, covered by a CRC-32C.
public struct VHDXRegionTable: Equatable, Sendable {
    public static let size = 64 * 1024
    /// "EntryCount … MUST be less than or equal to 2047" (§2.2.3.1).
    public static let maxEntries = 2047

    /// A region table entry (§2.2.3.2).
    public struct Entry: Equatable, Sendable {
        public var guid: GUID
        public var fileOffset: UInt64
        public var length: UInt32
        /// "If this field is set to 1, the implementation MUST recognize this region to load the
        /// VHDX file" (§2.2.3.2).
        public var required: Bool

        public init(guid: GUID, fileOffset: UInt64, length: UInt32, required: Bool) {
            self.guid = guid
            self.fileOffset = fileOffset
            self.length = length
            self.required = required
        }
    }

    /// Known regions (§2.2.3.2).
    public static let batGuid = GUID("2DC27766-F623-4200-9D64-115E9BFD4A08")!
    public static let metadataGuid = GUID("8B7CA206-4790-4B9A-B8FE-575F050F886E")!

    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    /// The 64 KiB structure with its checksum.
    public func encoded() -> [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.put(ascii: "regi", at: 0)
        b.putLE32(UInt32(entries.count), at: 8)
        for (i, e) in entries.enumerated() {
            let o = 16 + 32 * i
            b.put(e.guid.mixedEndianBytes, at: o)
            b.putLE64(e.fileOffset, at: o + 16)
            b.putLE32(e.length, at: o + 24)
            b.putLE32(e.required ? 1 : 0, at: o + 28)
        }
        b.putLE32(CRC32C.checksum(b), at: 4)
        return b
    }

    /// Decodes a region table, checking signature, checksum and entry count.
    public init(decoding b: [UInt8]) throws(DiskFormatError) {
        guard b.count == Self.size, b.matches("regi") else { throw DiskFormatError("no VHDX region table signature 'regi'") }
        let stored = b.le32(4), computed = CRC32C.checksum(b, zeroingFieldAt: 4)
        guard stored == computed else {
            throw DiskFormatError("VHDX region table checksum is \(hex32(stored)), expected \(hex32(computed))")
        }
        let count = Int(b.le32(8))
        guard count <= Self.maxEntries else { throw DiskFormatError("VHDX region table has \(count) entries (at most 2047)") }
        entries = (0..<count).map { i in
            let o = 16 + 32 * i
            return Entry(guid: GUID(mixedEndian: b, at: o), fileOffset: b.le64(o + 16),
                         length: b.le32(o + 24), required: b.le32(o + 28) & 1 != 0)
        }
    }

    /// Checks placement (1 MiB aligned, past the header section, inside the file, no overlaps)
    /// and that every required region is known. Returns the BAT and metadata entries.
    public func validate(fileSize: UInt64, log: Range<UInt64>) throws(DiskFormatError) -> (bat: Entry, metadata: Entry) {
        var bat: Entry?, metadata: Entry?
        var occupied = [NamedByteRange("header section", 0, VHDXLayout.headerSectionSize),
                        NamedByteRange("log", log.lowerBound, log.upperBound)]
        for e in entries {
            let name: String
            switch e.guid {
            case Self.batGuid: name = "BAT"
            case Self.metadataGuid: name = "metadata region"
            default:
                if e.required {
                    throw DiskFormatError("VHDX has an unknown required region \(e.guid); this reader cannot load it")
                }
                name = "region \(e.guid)"
            }
            let length = UInt64(e.length)
            guard e.fileOffset % VHDXLayout.alignment == 0, length % VHDXLayout.alignment == 0, length > 0 else {
                throw DiskFormatError("VHDX \(name) at \(e.fileOffset) length \(length) is not 1 MiB aligned")
            }
            guard e.fileOffset <= fileSize, length <= fileSize - e.fileOffset else {
                throw DiskFormatError("VHDX \(name) at \(e.fileOffset) length \(length) extends beyond the end of the file (size \(fileSize))")
            }
            let start = e.fileOffset, end = e.fileOffset + length
            if let clash = occupied.first(where: { $0.overlaps(start, end) }) {
                throw DiskFormatError("VHDX \(name) overlaps the \(clash.name)")
            }
            occupied.append(NamedByteRange(name, start, end))
            if e.guid == Self.batGuid {
                guard bat == nil else { throw DiskFormatError("VHDX region table lists the BAT twice") }
                bat = e
            } else if e.guid == Self.metadataGuid {
                guard metadata == nil else { throw DiskFormatError("VHDX region table lists the metadata region twice") }
                metadata = e
            }
        }
        guard let bat else { throw DiskFormatError("VHDX region table has no BAT") }
        guard let metadata else { throw DiskFormatError("VHDX region table has no metadata region") }
        return (bat, metadata)
    }
}
