/// The 512-byte VHD footer ("Hard Disk Footer Format", VHD specification v1.0), big-endian.
///
/// A fixed disk is its raw data followed by this footer; dynamic and differencing disks also keep
/// a copy at offset 0 and point to a dynamic disk header through `dataOffset`.
public struct VHDFooter: Equatable, Sendable {
    /// The footer size, and the size of its copy at the start of dynamic disks.
    public static let size = 512
    /// `dataOffset` of a fixed disk (spec: "set to 0xFFFFFFFF" in all bytes).
    public static let noDataOffset = UInt64.max
    /// 2000-01-01 00:00:00 UTC, the epoch of `timestamp`, in Unix seconds.
    public static let epoch: Int64 = 946_684_800

    /// The disk type field.
    public enum DiskType: UInt32, Sendable, Codable {
        case fixed = 2, dynamic = 3, differencing = 4
    }

    /// Bit 1 is "reserved, must always be set" (spec, "Features").
    public var features: UInt32 = 2
    public var formatVersion: UInt32 = 0x0001_0000
    public var dataOffset: UInt64
    /// Seconds since 2000-01-01 UTC.
    public var timestamp: UInt32
    /// Four ASCII bytes naming the program that created the image.
    public var creatorApplication: [UInt8]
    public var creatorVersion: UInt32
    /// 0x5769326B "Wi2k" or 0x4D616320 "Mac ": the only values the spec defines.
    public var creatorHostOS: UInt32
    public var originalSize: UInt64
    /// The size of the virtual disk in bytes.
    public var currentSize: UInt64
    public var geometry: VHDGeometry
    public var diskType: DiskType
    public var uniqueID: [UInt8]
    public var savedState: UInt8 = 0

    public init(dataOffset: UInt64, timestamp: UInt32, creatorApplication: String, creatorVersion: UInt32,
                creatorHostOS: UInt32, size: UInt64, geometry: VHDGeometry, diskType: DiskType, uniqueID: GUID) {
        self.dataOffset = dataOffset
        self.timestamp = timestamp
        self.creatorApplication = Array((creatorApplication + "    ").utf8.prefix(4))
        self.creatorVersion = creatorVersion
        self.creatorHostOS = creatorHostOS
        self.originalSize = size
        self.currentSize = size
        self.geometry = geometry
        self.diskType = diskType
        self.uniqueID = uniqueID.textOrderBytes
    }

    /// The checksum rule of the spec: the one's complement of the sum of all bytes of the footer,
    /// with the checksum field (offset 64) taken as zero.
    public static func checksum(_ footer: [UInt8]) -> UInt32 {
        var sum: UInt32 = 0
        for (i, b) in footer.enumerated() where !(64..<68).contains(i) { sum &+= UInt32(b) }
        return ~sum
    }

    /// The 512 bytes, checksum included.
    public func encoded() -> [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.put(ascii: "conectix", at: 0)
        b.putBE32(features, at: 8)
        b.putBE32(formatVersion, at: 12)
        b.putBE64(dataOffset, at: 16)
        b.putBE32(timestamp, at: 24)
        b.put(creatorApplication, at: 28)
        b.putBE32(creatorVersion, at: 32)
        b.putBE32(creatorHostOS, at: 36)
        b.putBE64(originalSize, at: 40)
        b.putBE64(currentSize, at: 48)
        b.putBE16(geometry.cylinders, at: 56)
        b[58] = geometry.heads
        b[59] = geometry.sectorsPerTrack
        b.putBE32(diskType.rawValue, at: 60)
        b.put(uniqueID, at: 68)
        b[84] = savedState
        b.putBE32(Self.checksum(b), at: 64)
        return b
    }

    /// True when `bytes` begins with the footer cookie `conectix`.
    public static func hasCookie(_ bytes: [UInt8]) -> Bool { bytes.matches("conectix") }

    /// Decodes and validates a footer: cookie, checksum, disk type.
    public init(decoding b: [UInt8]) throws(DiskFormatError) {
        guard b.count == Self.size, Self.hasCookie(b) else { throw DiskFormatError("no VHD footer cookie 'conectix'") }
        let stored = b.be32(64), computed = Self.checksum(b)
        guard stored == computed else {
            throw DiskFormatError("VHD footer checksum is \(hex32(stored)), expected \(hex32(computed))")
        }
        guard let type = DiskType(rawValue: b.be32(60)) else {
            throw DiskFormatError("VHD footer has unknown disk type \(b.be32(60))")
        }
        features = b.be32(8)
        formatVersion = b.be32(12)
        dataOffset = b.be64(16)
        timestamp = b.be32(24)
        creatorApplication = b.bytes(28, 4)
        creatorVersion = b.be32(32)
        creatorHostOS = b.be32(36)
        originalSize = b.be64(40)
        currentSize = b.be64(48)
        geometry = VHDGeometry(cylinders: b.be16(56), heads: b[58], sectorsPerTrack: b[59])
        diskType = type
        uniqueID = b.bytes(68, 16)
        savedState = b[84]
        guard formatVersion >> 16 == 1 else {
            throw DiskFormatError("VHD footer has unsupported format version \(hex32(formatVersion))")
        }
    }

    /// The creator application as text, trailing blanks and NULs removed.
    public var creatorApplicationName: String {
        String(decoding: creatorApplication.filter { $0 >= 0x20 && $0 < 0x7F }, as: UTF8.self)
            .trimmingTrailingSpaces()
    }
}

/// `0x` and eight hex digits, as checksums are shown in messages.
func hex32(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
