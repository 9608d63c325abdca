/// The fixed layout of the VHDX header section (MS-VHDX §2.2): the first 1 MiB of the file holds
/// the file type identifier at 0, two headers at 64 KiB and 128 KiB, and two copies of the region
/// table at 192 KiB and 256 KiB; each structure owns a 64 KiB slot.
public enum VHDXLayout {
    public static let fileIdentifierOffset: UInt64 = 0
    public static let header1Offset: UInt64 = 64 * 1024
    public static let header2Offset: UInt64 = 128 * 1024
    public static let regionTable1Offset: UInt64 = 192 * 1024
    public static let regionTable2Offset: UInt64 = 256 * 1024
    /// The header section's size; no region may start inside it.
    public static let headerSectionSize: UInt64 = 1024 * 1024
    /// Region offsets and lengths, and BAT file offsets, are multiples of 1 MiB (MS-VHDX §2.2.3.2, §2.5.1).
    public static let alignment: UInt64 = 1024 * 1024
}

/// The file type identifier (MS-VHDX §2.2.1): signature `vhdxfile` and a UTF-16LE creator string.
public struct VHDXFileIdentifier: Equatable, Sendable {
    public var creator: String

    public init(creator: String) { self.creator = creator }

    /// 8-byte signature + 512-byte creator; the rest of the 64 KiB slot is zero.
    public func encoded() -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 8 + 512)
        b.put(ascii: "vhdxfile", at: 0)
        b.put(encodeUTF16LE(creator, capacity: 512), at: 8)
        return b
    }

    public init(decoding b: [UInt8]) throws(DiskFormatError) {
        guard b.count >= 520, b.matches("vhdxfile") else { throw DiskFormatError("no VHDX signature 'vhdxfile'") }
        creator = decodeUTF16(b.bytes(8, 512), bigEndian: false)
    }
}

/// A VHDX header (MS-VHDX §2.2.2), 4 KiB covered by a CRC-32C, little-endian.
///
/// Two copies exist; the valid one with the higher `sequenceNumber` is current (§2.2.2.1).
public struct VHDXHeader: Equatable, Sendable {
    /// Bytes covered by the checksum.
    public static let size = 4096

    public var sequenceNumber: UInt64
    /// Changes whenever the file is opened for writing.
    public var fileWriteGuid: GUID
    /// Changes whenever user-visible data is written.
    public var dataWriteGuid: GUID
    /// Zero when the log is empty; otherwise the log may hold entries that must be replayed
    /// before the file is consistent (§2.2.2.1: "If this field is zero, then the log is empty").
    public var logGuid: GUID
    public var logVersion: UInt16 = 0
    public var version: UInt16 = 1
    public var logLength: UInt32
    public var logOffset: UInt64

    public init(sequenceNumber: UInt64, fileWriteGuid: GUID, dataWriteGuid: GUID, logGuid: GUID = .zero,
                logLength: UInt32, logOffset: UInt64) {
        self.sequenceNumber = sequenceNumber
        self.fileWriteGuid = fileWriteGuid
        self.dataWriteGuid = dataWriteGuid
        self.logGuid = logGuid
        self.logLength = logLength
        self.logOffset = logOffset
    }

    /// The 4 KiB structure with its checksum.
    public func encoded() -> [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.put(ascii: "head", at: 0)
        b.putLE64(sequenceNumber, at: 8)
        b.put(fileWriteGuid.mixedEndianBytes, at: 16)
        b.put(dataWriteGuid.mixedEndianBytes, at: 32)
        b.put(logGuid.mixedEndianBytes, at: 48)
        b.putLE16(logVersion, at: 64)
        b.putLE16(version, at: 66)
        b.putLE32(logLength, at: 68)
        b.putLE64(logOffset, at: 72)
        b.putLE32(CRC32C.checksum(b), at: 4)
        return b
    }

    /// Decodes a header, checking signature and checksum (field values are checked by `validate`).
    public init(decoding b: [UInt8]) throws(DiskFormatError) {
        guard b.count == Self.size, b.matches("head") else { throw DiskFormatError("no VHDX header signature 'head'") }
        let stored = b.le32(4), computed = CRC32C.checksum(b, zeroingFieldAt: 4)
        guard stored == computed else {
            throw DiskFormatError("VHDX header checksum is \(hex32(stored)), expected \(hex32(computed))")
        }
        sequenceNumber = b.le64(8)
        fileWriteGuid = GUID(mixedEndian: b, at: 16)
        dataWriteGuid = GUID(mixedEndian: b, at: 32)
        logGuid = GUID(mixedEndian: b, at: 48)
        logVersion = b.le16(64)
        version = b.le16(66)
        logLength = b.le32(68)
        logOffset = b.le64(72)
    }

    /// Picks the current header of two candidates (§2.2.2.1): the valid one with the higher
    /// sequence number. Throws when neither is valid, quoting both reasons.
    public static func current(_ first: Result<VHDXHeader, DiskFormatError>,
                               _ second: Result<VHDXHeader, DiskFormatError>) throws(DiskFormatError) -> VHDXHeader {
        switch (first, second) {
        case let (.success(a), .success(b)): return b.sequenceNumber > a.sequenceNumber ? b : a
        case let (.success(a), .failure): return a
        case let (.failure, .success(b)): return b
        case let (.failure(e1), .failure(e2)):
            throw DiskFormatError("no valid VHDX header (header 1: \(e1.reason); header 2: \(e2.reason))")
        }
    }

    /// Checks the fields a reader relies on: version, log version, log placement.
    public func validate(fileSize: UInt64) throws(DiskFormatError) {
        guard version == 1 else { throw DiskFormatError("VHDX header has unsupported version \(version)") }
        guard logVersion == 0 else { throw DiskFormatError("VHDX header has unsupported log version \(logVersion)") }
        let mib = VHDXLayout.alignment
        guard logOffset >= VHDXLayout.headerSectionSize, logOffset % mib == 0, UInt64(logLength) % mib == 0,
              logLength > 0, logOffset <= fileSize, UInt64(logLength) <= fileSize - logOffset else {
            throw DiskFormatError("VHDX log at \(logOffset) length \(logLength) is misplaced or beyond the end of the file (size \(fileSize))")
        }
    }
}
