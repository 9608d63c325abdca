/// Bounds-checked little-endian reads from a byte array, for parsing ZIP headers.
///
/// Every read checks the range first so that a header that claims more bytes than were read
/// surfaces as `nil` (turned into a `ZipError` by the caller) instead of a trap.
struct LittleEndianBytes {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var count: Int { bytes.count }

    func contains(_ offset: Int, length: Int) -> Bool {
        offset >= 0 && length >= 0 && offset <= bytes.count && length <= bytes.count - offset
    }

    func u16(_ offset: Int) -> UInt16? {
        guard contains(offset, length: 2) else { return nil }
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    func u32(_ offset: Int) -> UInt32? {
        guard contains(offset, length: 4) else { return nil }
        var value: UInt32 = 0
        for i in 0..<4 { value |= UInt32(bytes[offset + i]) << (8 * i) }
        return value
    }

    func u64(_ offset: Int) -> UInt64? {
        guard contains(offset, length: 8) else { return nil }
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(bytes[offset + i]) << (8 * i) }
        return value
    }

    func slice(_ offset: Int, length: Int) -> ArraySlice<UInt8>? {
        guard contains(offset, length: length) else { return nil }
        return bytes[offset..<(offset + length)]
    }
}

/// Appends little-endian integers to a byte array, for writing ZIP headers.
struct LittleEndianWriter {
    var bytes: [UInt8] = []

    mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
    }

    mutating func u32(_ value: UInt32) {
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))) }
    }

    mutating func u64(_ value: UInt64) {
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }

    mutating func append<S: Sequence>(_ other: S) where S.Element == UInt8 { bytes.append(contentsOf: other) }
}
