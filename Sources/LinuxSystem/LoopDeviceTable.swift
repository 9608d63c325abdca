import CLinuxShims
import Glibc

/// A loop device as the kernel reports it in `/sys/block/loopN/loop/`.
public struct LoopDeviceState: Sendable, Equatable {
    /// N of `/dev/loopN`.
    public let number: Int32
    /// The backing file's path as the kernel saw it when attached.
    public let backingFile: String
    /// Offset and size limit in the backing file.
    public let offset: UInt64
    public let sizeLimit: UInt64
    /// Whether it detaches itself when unused.
    public let autoclear: Bool
    /// Whether direct I/O is in use.
    public let directIO: Bool
    /// The tag in `lo_file_name`, if it could be read.
    public let tag: String?

    /// `/dev/loopN`.
    public var path: String { "/dev/loop\(number)" }
}

/// Every bound loop device, read from sysfs: the truth about which files are attached.
public enum LoopDeviceTable {
    /// All loop devices that have a backing file.
    public static func read() -> [LoopDeviceState] {
        guard let dir = opendir("/sys/block") else { return [] }
        defer { closedir(dir) }
        var devices: [LoopDeviceState] = []
        while let entry = readdir(dir) {
            let name = DirectoryListing.name(of: entry)
            guard name.hasPrefix("loop"), let n = Int32(name.dropFirst(4)) else { continue }
            let base = "/sys/block/\(name)/loop/"
            guard let backing = try? SysfsFile.read(base + "backing_file") else { continue }
            devices.append(LoopDeviceState(
                number: n, backingFile: backing.hasSuffix(" (deleted)") ? String(backing.dropLast(10)) : backing,
                offset: UInt64((try? SysfsFile.read(base + "offset")) ?? "") ?? 0,
                sizeLimit: UInt64((try? SysfsFile.read(base + "sizelimit")) ?? "") ?? 0,
                autoclear: (try? SysfsFile.read(base + "autoclear")) == "1",
                directIO: (try? SysfsFile.read(base + "dio")) == "1",
                tag: tag(of: n)))
        }
        return devices.sorted { $0.number < $1.number }
    }

    /// `lo_file_name` of `/dev/loopN` via `LOOP_GET_STATUS64` (needs read access to the node).
    public static func tag(of number: Int32) -> String? {
        let fd = open("/dev/loop\(number)", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = loop_info64()
        guard withUnsafeMutablePointer(to: &info, { ioctl(fd, appattach_LOOP_GET_STATUS64, UnsafeMutableRawPointer($0)) }) == 0 else {
            return nil
        }
        return withUnsafeBytes(of: info.lo_file_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
