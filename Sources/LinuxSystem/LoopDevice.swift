import CLinuxShims
import Glibc

/// A loop device that maps a byte range of a file as a read-only block device.
///
/// `attach` allocates a free device (`LOOP_CTL_GET_FREE`) and configures it in one
/// `LOOP_CONFIGURE` call: backing file, offset, size limit, read-only, autoclear, optional direct
/// I/O and a tag in `lo_file_name`, so there is no window in which a crash leaves a half-set-up
/// device behind. With autoclear, the kernel detaches the device when its last user goes away:
/// mount the device, then `relinquish()` it, and unmounting is all the cleanup there is.
public final class LoopDevice: @unchecked Sendable {
    /// The device number N of `/dev/loopN`.
    public let number: Int32
    /// `/dev/loopN`.
    public var path: String { "/dev/loop\(number)" }
    /// The open device; closing it (with autoclear and no mount) detaches it.
    private var file: OpenFile?
    /// Whether direct I/O was granted (the kernel may fall back to buffered I/O).
    public private(set) var directIO: Bool = false

    init(number: Int32, file: OpenFile) {
        self.number = number
        self.file = file
    }

    /// What to map and how.
    public struct Configuration: Sendable {
        /// Byte offset of the range in the backing file (a multiple of 512).
        public var offset: UInt64
        /// Length of the range; 0 maps to the end of the file.
        public var sizeLimit: UInt64
        /// Ask for direct I/O (no double caching); falls back to buffered I/O if refused.
        public var directIO: Bool
        /// Logical block size for direct I/O (must not exceed the filesystem's block size); 0 = default.
        public var blockSize: UInt32
        /// Up to 63 bytes stored in `lo_file_name`, so our devices can be found again.
        public var tag: String

        public init(offset: UInt64 = 0, sizeLimit: UInt64 = 0, directIO: Bool = false,
                    blockSize: UInt32 = 0, tag: String = "") {
            self.offset = offset
            self.sizeLimit = sizeLimit
            self.directIO = directIO
            self.blockSize = blockSize
            self.tag = tag
        }
    }

    /// Attaches `backingFile` read-only with autoclear. Retries with a jittered back-off when
    /// another process takes the free device first (`EBUSY`) or udev is probing (`EAGAIN`).
    /// The backing file is opened read-only and never copied.
    ///
    /// With direct I/O the backing file is opened with `O_DIRECT`, as losetup does: the loop
    /// driver then reads it through the file system's direct I/O path. Without it, a direct-I/O
    /// loop device on a kernel cifs file (Linux 6.1, Debian 12's kernel) returns nothing but EIO.
    public static func attach(backingFile: String, _ configuration: Configuration) throws -> LoopDevice {
        if configuration.directIO {
            var buffered = configuration
            buffered.directIO = false
            // A file system without direct I/O refuses the open; so does one that refuses the
            // block size or the offset, in LOOP_CONFIGURE: either way, go buffered.
            guard let direct = try? OpenFile.openForDirectReading(backingFile) else {
                return try attach(backingFile: backingFile, buffered)
            }
            do {
                return try attach(backing: direct, configuration)
            } catch let error as SystemCallError where error.errno == EINVAL || error.errno == EOPNOTSUPP {
                return try attach(backingFile: backingFile, buffered)
            }
        }
        return try attach(backing: OpenFile.openForReading(backingFile), configuration)
    }

    private static func attach(backing: OpenFile, _ configuration: Configuration) throws -> LoopDevice {
        let backingFile = backing.path
        let control = try OpenFile(adopting: retryingOnInterrupt("open", "/dev/loop-control") {
            open("/dev/loop-control", O_RDWR | O_CLOEXEC)
        }, path: "/dev/loop-control")

        var lastError = SystemCallError("ioctl(LOOP_CONFIGURE)", backingFile, errno: EBUSY)
        for attempt in 0..<64 {
            if attempt > 0 { backOff(attempt) }
            // Serialise our own allocations; other tools' races are handled by the retry.
            flock(control.descriptor, LOCK_EX)
            defer { flock(control.descriptor, LOCK_UN) }
            let n = ioctl(control.descriptor, appattach_LOOP_CTL_GET_FREE)
            if n < 0 { throw SystemCallError("ioctl(LOOP_CTL_GET_FREE)", "/dev/loop-control") }
            let nodePath = "/dev/loop\(n)"
            let fd = open(nodePath, O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                // The node may not exist yet in a container, or vanished: try again.
                lastError = SystemCallError("open", nodePath)
                if errno == ENOENT || errno == ENXIO { continue }
                throw lastError
            }
            let device = LoopDevice(number: Int32(n), file: OpenFile(adopting: fd, path: nodePath))
            switch device.configure(backing: backing, configuration) {
            case .success:
                return device
            case .failure(let error) where error.errno == EBUSY || error.errno == EAGAIN:
                lastError = error
                continue
            case .failure(let error):
                throw error
            }
        }
        throw lastError
    }

    /// One configuration attempt on this device, with the fallback the kernel may need:
    /// `LOOP_SET_FD` + `LOOP_SET_STATUS64` on kernels older than 5.8 that have no
    /// `LOOP_CONFIGURE` (buffered only). A refused direct-I/O configuration is the caller's to
    /// retry buffered, with a backing file opened without `O_DIRECT`.
    private func configure(backing: OpenFile, _ configuration: Configuration) -> Result<Void, SystemCallError> {
        guard let device = file else { return .failure(SystemCallError("configure", path, errno: EBADF)) }
        var config = loop_config()
        config.fd = UInt32(backing.descriptor)
        config.block_size = configuration.directIO ? configuration.blockSize : 0
        config.info = Self.info(configuration, directIO: configuration.directIO)
        let r = withUnsafeMutablePointer(to: &config) { ioctl(device.descriptor, appattach_LOOP_CONFIGURE, UnsafeMutableRawPointer($0)) }
        if r != 0 && (errno == ENOTTY || errno == EINVAL) && !configuration.directIO {
            return configureLegacy(device: device, backing: backing, configuration)
        }
        if r != 0 { return .failure(SystemCallError("ioctl(LOOP_CONFIGURE)", path)) }
        // Whether the kernel kept direct I/O on: its flags, from the open device (one ioctl
        // rather than opening and reading sysfs on every stage; sysfs `dio` shows the same bit).
        var status = loop_info64()
        directIO = withUnsafeMutablePointer(to: &status) { ioctl(device.descriptor, appattach_LOOP_GET_STATUS64, UnsafeMutableRawPointer($0)) } == 0
            && status.lo_flags & UInt32(LO_FLAGS_DIRECT_IO) != 0
        return .success(())
    }

    /// `LOOP_SET_FD` then `LOOP_SET_STATUS64`: two steps, so a crash between them could leak the
    /// device; only used where `LOOP_CONFIGURE` does not exist.
    private func configureLegacy(device: OpenFile, backing: OpenFile, _ configuration: Configuration) -> Result<Void, SystemCallError> {
        if ioctl(device.descriptor, appattach_LOOP_SET_FD, Int32(backing.descriptor)) != 0 {
            return .failure(SystemCallError("ioctl(LOOP_SET_FD)", path))
        }
        var info = Self.info(configuration, directIO: false)
        for attempt in 0..<64 {
            let r = withUnsafeMutablePointer(to: &info) { ioctl(device.descriptor, appattach_LOOP_SET_STATUS64, UnsafeMutableRawPointer($0)) }
            if r == 0 { return .success(()) }
            // EAGAIN: udev is probing while the offset changes; wait and try again.
            if errno != EAGAIN { break }
            Self.backOff(attempt + 1)
        }
        let error = SystemCallError("ioctl(LOOP_SET_STATUS64)", path)
        _ = ioctl(device.descriptor, appattach_LOOP_CLR_FD, 0)
        return .failure(error)
    }

    private static func info(_ configuration: Configuration, directIO: Bool) -> loop_info64 {
        var info = loop_info64()
        info.lo_offset = configuration.offset
        info.lo_sizelimit = configuration.sizeLimit
        info.lo_flags = UInt32(LO_FLAGS_READ_ONLY) | UInt32(LO_FLAGS_AUTOCLEAR) | (directIO ? UInt32(LO_FLAGS_DIRECT_IO) : 0)
        withUnsafeMutableBytes(of: &info.lo_file_name) { raw in
            let bytes = Array(configuration.tag.utf8.prefix(Int(LO_NAME_SIZE) - 1))
            raw.copyBytes(from: bytes)
        }
        return info
    }

    /// Closes our descriptor. With autoclear, a mounted device stays until it is unmounted,
    /// and an unmounted one goes away now. Call this right after a successful mount.
    /// Starts reading the device's first `count` bytes into its page cache without waiting:
    /// a filesystem's mount-time metadata (superblock, group descriptors, root inode and
    /// directory) then comes from one round of I/O instead of one synchronous read each,
    /// which matters on a direct-I/O device, whose reads all go to the disk.
    public func prefetch(count: UInt64) {
        file?.willNeed(count: count, at: 0)
    }

    public func relinquish() {
        try? file?.close()
        file = nil
    }

    /// Detaches now (`LOOP_CLR_FD`), for a device that was attached but never mounted.
    public func detach() {
        if let file { _ = ioctl(file.descriptor, appattach_LOOP_CLR_FD, 0) }
        relinquish()
    }

    deinit { relinquish() }

    /// Removes the unbound device `/dev/loopN` from the system (`LOOP_CTL_REMOVE`): for devices a
    /// caller made the kernel create and no longer needs. A bound device is refused by the kernel
    /// (`EBUSY`), so this never takes a device from anyone.
    public static func remove(number: Int32) throws {
        let control = open("/dev/loop-control", O_RDWR | O_CLOEXEC)
        guard control >= 0 else { throw SystemCallError("open", "/dev/loop-control") }
        defer { Glibc.close(control) }
        if ioctl(control, appattach_LOOP_CTL_REMOVE, number) < 0 {
            throw SystemCallError("ioctl(LOOP_CTL_REMOVE)", "/dev/loop\(number)")
        }
    }

    /// The numbers of every loop device that exists now, bound or not (`/sys/block/loop*`).
    public static func existingNumbers() -> Set<Int32> {
        Set(((try? DirectoryListing.names("/sys/block")) ?? []).compactMap { name in
            name.hasPrefix("loop") ? Int32(name.dropFirst(4)) : nil
        })
    }

    /// `LOOP_CLR_FD` on an open loop device that is not ours to own (reconciliation).
    public static func clear(descriptor: Int32) -> Bool {
        ioctl(descriptor, appattach_LOOP_CLR_FD, 0) == 0
    }

    /// 10 ms plus up to 240 ms scaled by the attempt, randomised so that racing processes spread out.
    static func backOff(_ attempt: Int) {
        let maxMicros = 10_000 + 240_000 * min(attempt, 64) / 64
        usleep(useconds_t(Int.random(in: 10_000...maxMicros)))
    }
}
