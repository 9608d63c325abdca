import Glibc

/// Which file, in which state: the device and inode it is, its size, and its modification and
/// change times (`fstat`). Writing to a file changes its change time, which nobody can set back,
/// and a file replaced by another at the same path has another inode: two equal identities are
/// the same unchanged file.
public struct FileIdentity: Sendable, Equatable {
    /// A time stamp as `stat` gives it.
    public struct Time: Sendable, Equatable {
        public var seconds: Int64
        public var nanoseconds: Int64

        public init(seconds: Int64, nanoseconds: Int64) {
            self.seconds = seconds
            self.nanoseconds = nanoseconds
        }

        init(_ t: timespec) { self.init(seconds: Int64(t.tv_sec), nanoseconds: Int64(t.tv_nsec)) }
    }

    public var device: UInt64
    public var inode: UInt64
    public var size: UInt64
    public var modified: Time
    public var changed: Time

    public init(device: UInt64, inode: UInt64, size: UInt64, modified: Time, changed: Time) {
        self.device = device
        self.inode = inode
        self.size = size
        self.modified = modified
        self.changed = changed
    }

    /// The identity in `status`.
    public init(_ status: stat) {
        self.init(device: UInt64(status.st_dev), inode: UInt64(status.st_ino), size: UInt64(status.st_size),
                  modified: Time(status.st_mtim), changed: Time(status.st_ctim))
    }
}

extension OpenFile {
    /// The open file's identity (one `fstat`).
    public func identity() throws -> FileIdentity { FileIdentity(try status()) }
}
