import Glibc

/// One line of `/proc/self/mountinfo`.
public struct MountEntry: Sendable, Equatable {
    /// Mount id.
    public let id: Int
    /// Parent mount id.
    public let parentID: Int
    /// `major:minor` of the mounted device.
    public let device: String
    /// The directory inside the source filesystem that is mounted (`/` for a whole filesystem).
    public let root: String
    /// Where it is mounted.
    public let mountPoint: String
    /// Per-mount options (`ro,nosuid,nodev,…`).
    public let options: [String]
    /// Filesystem type.
    public let filesystemType: String
    /// The mount source (`/dev/loop3`, or the file for a file-backed EROFS).
    public let source: String
    /// The filesystem's own options (`ro,user_xattr,…,fsoffset=5242880`).
    public var superOptions: [String] = []

    public init(id: Int, parentID: Int, device: String, root: String, mountPoint: String, options: [String],
                filesystemType: String, source: String, superOptions: [String] = []) {
        self.id = id
        self.parentID = parentID
        self.device = device
        self.root = root
        self.mountPoint = mountPoint
        self.options = options
        self.filesystemType = filesystemType
        self.source = source
        self.superOptions = superOptions
    }

    /// The value of the filesystem option `name=value`, if it is set.
    public func superOption(_ name: String) -> String? {
        let prefix = name + "="
        return superOptions.last { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }
}

/// The kernel's table of mounts, read from `/proc/self/mountinfo`: the truth about what is
/// mounted, whatever any record says.
public enum MountTable {
    /// Every mount visible to this process.
    public static func read(from path: String = "/proc/self/mountinfo") throws -> [MountEntry] {
        try parse(SysfsFile.read(path))
    }

    /// The source of the mount at `mountPoint`, or nil (reads the whole table: for rare paths).
    public static func source(of mountPoint: String) -> String? {
        (try? read())?.last { $0.mountPoint == mountPoint }?.source
    }

    /// Parses mountinfo text (see proc(5)); fields are space-separated with octal escapes.
    public static func parse(_ text: String) -> [MountEntry] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            guard let dash = fields.firstIndex(of: "-"), dash >= 6, fields.count >= dash + 3,
                  let id = Int(fields[0]), let parent = Int(fields[1]) else { return nil }
            return MountEntry(id: id, parentID: parent, device: fields[2],
                              root: unescape(fields[3]), mountPoint: unescape(fields[4]),
                              options: fields[5].split(separator: ",").map(String.init),
                              filesystemType: fields[dash + 1], source: unescape(fields[dash + 2]),
                              superOptions: fields.count > dash + 3 ? fields[dash + 3].split(separator: ",").map(String.init) : [])
        }
    }

    /// Decodes `\040`-style octal escapes (space, tab, newline, backslash).
    static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out: [UInt8] = []
        let bytes = Array(s.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count,
               let v = UInt8(String(decoding: bytes[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v)
                i += 4
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
