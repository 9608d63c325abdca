// Fixed-width integer access to on-disk structures.
//
// VHD stores integers big-endian (VHD spec, "Hard Disk Footer Format"); VHDX, GPT and MBR store
// them little-endian (MS-VHDX §2, UEFI 2.10 §5.3). The offsets used with these helpers are
// constants of a structure whose buffer was read at its full size, so an out-of-range offset here
// is a programming error and traps; offsets that come from the image are checked by the callers.

extension Array where Element == UInt8 {
    func le16(_ at: Int) -> UInt16 { UInt16(self[at]) | UInt16(self[at + 1]) << 8 }
    func le32(_ at: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(self[at + $1]) << (8 * UInt32($1)) }
    }
    func le64(_ at: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(self[at + $1]) << (8 * UInt64($1)) }
    }
    func be16(_ at: Int) -> UInt16 { UInt16(self[at]) << 8 | UInt16(self[at + 1]) }
    func be32(_ at: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(self[at + $1]) }
    }
    func be64(_ at: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 << 8 | UInt64(self[at + $1]) }
    }
    /// `count` bytes from `at` as a new array.
    func bytes(_ at: Int, _ count: Int) -> [UInt8] { Array(self[at..<(at + count)]) }
    /// True when the bytes at `at` spell `ascii`.
    func matches(_ ascii: String, at: Int = 0) -> Bool {
        let pattern = Array(ascii.utf8)
        guard at >= 0, at + pattern.count <= count else { return false }
        return self[at..<(at + pattern.count)].elementsEqual(pattern)
    }

    mutating func putLE16(_ v: UInt16, at: Int) { for i in 0..<2 { self[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt16(i))) } }
    mutating func putLE32(_ v: UInt32, at: Int) { for i in 0..<4 { self[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) } }
    mutating func putLE64(_ v: UInt64, at: Int) { for i in 0..<8 { self[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
    mutating func putBE16(_ v: UInt16, at: Int) { for i in 0..<2 { self[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt16(1 - i))) } }
    mutating func putBE32(_ v: UInt32, at: Int) { for i in 0..<4 { self[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(3 - i))) } }
    mutating func putBE64(_ v: UInt64, at: Int) { for i in 0..<8 { self[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(7 - i))) } }
    mutating func put(_ bytes: [UInt8], at: Int) { replaceSubrange(at..<(at + bytes.count), with: bytes) }
    mutating func put(ascii: String, at: Int) { put(Array(ascii.utf8), at: at) }
}

/// Rounds `value` up to a multiple of `alignment` (which must be positive).
@inline(__always)
func roundUp(_ value: UInt64, to alignment: UInt64) -> UInt64 {
    (value + alignment - 1) / alignment * alignment
}

/// True for 1, 2, 4, 8, …
@inline(__always)
func isPowerOfTwo(_ v: UInt64) -> Bool { v != 0 && v & (v - 1) == 0 }

/// Sizes used throughout, named so that layout arithmetic reads like the specs.
enum Size {
    static let kib: UInt64 = 1024
    static let mib: UInt64 = 1024 * 1024
    static let gib: UInt64 = 1024 * 1024 * 1024
}

/// Decodes UTF-16 code units, stopping at the first NUL.
func decodeUTF16(_ bytes: [UInt8], bigEndian: Bool) -> String {
    // Decoded by hand rather than with String(decoding:as: UTF16.self), whose unspecialised
    // path cost a tenth of `appattachctl stage` (every VHDX open decodes the creator string).
    var scalars = String.UnicodeScalarView()
    var i = 0
    func unit(_ at: Int) -> UInt16 { bigEndian ? bytes.be16(at) : bytes.le16(at) }
    while i + 1 < bytes.count {
        let u = unit(i)
        if u == 0 { break }
        i += 2
        if u & 0xFC00 == 0xD800, i + 1 < bytes.count, unit(i) & 0xFC00 == 0xDC00 {
            let low = unit(i)
            i += 2
            let value = 0x10000 + ((UInt32(u) & 0x3FF) << 10 | (UInt32(low) & 0x3FF))
            scalars.append(Unicode.Scalar(value) ?? "\u{FFFD}")
        } else {
            scalars.append(Unicode.Scalar(UInt32(u)) ?? "\u{FFFD}")
        }
    }
    return String(scalars)
}

/// Encodes `text` as UTF-16LE into exactly `capacity` bytes (truncated at a code unit, NUL-padded).
func encodeUTF16LE(_ text: String, capacity: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: capacity)
    var i = 0
    for u in text.utf16 where i + 1 < capacity {
        out[i] = UInt8(u & 0xFF)
        out[i + 1] = UInt8(u >> 8)
        i += 2
    }
    return out
}
