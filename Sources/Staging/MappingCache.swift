import Glibc
import LinuxSystem

/// What staging learnt about an image file, kept for the next time the host stages it: its
/// mapping and image id, under `mappings/<SHA-256 of the image path>`, with the file's identity
/// (device, inode, size, modification and change times) when it was read.
///
/// Staging an image the host has seen since boot (a package destaged when its last user signed
/// out and staged again at the next sign-in) then reads nothing from the image: not its
/// container, partition table or superblock, each a round of reads from the share when the
/// image is not in the page cache. Any change to the file changes its change time (and a new
/// file at the path has another inode), so an entry that does not match the file's identity is
/// ignored; `Stage` also drops an entry whose mapping the kernel will not mount, and reads the
/// image again. The entries live in the runtime directory, so a reboot starts afresh.
public struct MappingCache: Sendable {
    public let paths: StagingPaths

    public init(paths: StagingPaths) { self.paths = paths }

    /// One remembered image.
    public struct Entry: Sendable, Equatable {
        public var identity: FileIdentity
        public var mapping: ImageMapping
        public var id: String
    }

    /// The entry for `imagePath` if it was made for the file as it is now (`identity`).
    public func lookup(_ imagePath: String, identity: FileIdentity) -> Entry? {
        guard let bytes = Self.readSmallFile(entryPath(imagePath)), let entry = Self.decode(bytes),
              entry.identity == identity else { return nil }
        return entry
    }

    /// Remembers `entry` for `imagePath` (best effort: staging does not depend on it).
    public func store(_ imagePath: String, _ entry: Entry) {
        if mkdir(paths.mappings, 0o700) != 0 && errno != EEXIST { return }
        try? AtomicOutput.write(Self.encode(entry), to: entryPath(imagePath), mode: 0o600, durable: false)
    }

    /// Forgets what was remembered for `imagePath`.
    public func remove(_ imagePath: String) {
        unlink(entryPath(imagePath))
    }

    func entryPath(_ imagePath: String) -> String {
        paths.mappings + "/" + HexDigits.string(PlainSHA256.hash(Array(imagePath.utf8)))
    }

    /// One line: a format version, the identity, the mapping and the id, separated by spaces.
    /// Written and read byte by byte: generic text code (interpolation, `split`, `Int(_:)`)
    /// has the runtime instantiate types on first use, which a short-lived `appattachctl`
    /// pays on every stage (about 0.25 ms, measured).
    static func encode(_ e: Entry) -> [UInt8] {
        let i = e.identity, m = e.mapping
        var out: [UInt8] = []
        out.reserveCapacity(192)
        func field(_ value: UInt64, negative: Bool = false) {
            if !out.isEmpty { out.append(UInt8(ascii: " ")) }
            if negative { out.append(UInt8(ascii: "-")) }
            var divisor: UInt64 = 1
            while value / divisor >= 10 { divisor *= 10 }
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8((value / divisor) % 10))
                divisor /= 10
            }
        }
        func field(_ value: Int64) { field(value.magnitude, negative: value < 0) }
        func field(_ text: String) {
            out.append(UInt8(ascii: " "))
            out.append(contentsOf: text.utf8)
        }
        field(1 as UInt64)
        field(i.device); field(i.inode); field(i.size)
        field(i.modified.seconds); field(i.modified.nanoseconds); field(i.changed.seconds); field(i.changed.nanoseconds)
        field(m.offset); field(m.length); field(m.filesystem.rawValue)
        field(UInt64(m.blockSize ?? 0)); field(m.isBareFilesystem ? 1 as UInt64 : 0)
        field(e.id)
        out.append(UInt8(ascii: "\n"))
        return out
    }

    static func decode(_ bytes: [UInt8]) -> Entry? {
        var fields: [ArraySlice<UInt8>] = []
        fields.reserveCapacity(14)
        var start = 0
        let end = bytes.last == UInt8(ascii: "\n") ? bytes.count - 1 : bytes.count
        for k in 0...end where k == end || bytes[k] == UInt8(ascii: " ") {
            fields.append(bytes[start..<k])
            start = k + 1
        }
        func unsigned(_ f: ArraySlice<UInt8>) -> UInt64? {
            guard !f.isEmpty, f.count <= 20 else { return nil }
            var v: UInt64 = 0
            for c in f {
                guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else { return nil }
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(UInt64(c - UInt8(ascii: "0")))
                guard !o1 && !o2 else { return nil }
                v = s
            }
            return v
        }
        func signed(_ f: ArraySlice<UInt8>) -> Int64? {
            if f.first == UInt8(ascii: "-") {
                guard let m = unsigned(f.dropFirst()), m <= UInt64(Int64.max) else { return nil }
                return -Int64(m)
            }
            guard let v = unsigned(f), v <= UInt64(Int64.max) else { return nil }
            return Int64(v)
        }
        guard fields.count == 14, fields[0].elementsEqual([UInt8(ascii: "1")]),
              let device = unsigned(fields[1]), let inode = unsigned(fields[2]), let size = unsigned(fields[3]),
              let mSec = signed(fields[4]), let mNsec = signed(fields[5]), let cSec = signed(fields[6]), let cNsec = signed(fields[7]),
              let offset = unsigned(fields[8]), let length = unsigned(fields[9]),
              let fs = ImageMapping.Filesystem(rawValue: String(decoding: fields[10], as: UTF8.self)),
              let blockSize = unsigned(fields[11]), blockSize <= UInt64(UInt32.max),
              let bare = unsigned(fields[12]), bare <= 1 else { return nil }
        let id = String(decoding: fields[13], as: UTF8.self)
        guard ImageID.isWellFormed(id) else { return nil }
        return Entry(identity: FileIdentity(device: device, inode: inode, size: size,
                                            modified: .init(seconds: mSec, nanoseconds: mNsec),
                                            changed: .init(seconds: cSec, nanoseconds: cNsec)),
                     mapping: ImageMapping(offset: offset, length: length, filesystem: fs,
                                           blockSize: blockSize == 0 ? nil : UInt32(blockSize), isBareFilesystem: bare == 1),
                     id: id)
    }

    /// A file of at most 511 bytes, or nil (missing, unreadable or larger).
    static func readSmallFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let bytes = [UInt8](unsafeUninitializedCapacity: 512) { buffer, initialized in
            initialized = max(0, read(fd, buffer.baseAddress!, 512))
        }
        return bytes.isEmpty || bytes.count == 512 ? nil : bytes
    }
}
