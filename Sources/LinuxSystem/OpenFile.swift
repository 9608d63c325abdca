import CLinuxShims
import Glibc

/// An open file descriptor that this process owns and closes when released.
///
/// Every read and write is positional (`pread`/`pwrite`), so one `OpenFile` can be shared by
/// readers of different regions. Short reads and writes are continued; a read past the end of
/// the file throws instead of returning fewer bytes, so callers never see a truncated buffer.
public final class OpenFile: @unchecked Sendable {
    /// The raw descriptor. Valid until `close()` or deinit.
    public let descriptor: Int32
    /// The path it was opened from, used in error messages.
    public let path: String
    private var closed = false

    /// Takes ownership of `descriptor`.
    public init(adopting descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    /// Opens `path` read-only. The corresponding C call is `open(O_RDONLY|O_CLOEXEC)`.
    public static func openForReading(_ path: String) throws -> OpenFile {
        let fd = try retryingOnInterrupt("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
        return OpenFile(adopting: fd, path: path)
    }

    /// Opens `path` read-only without waiting for it (`O_NONBLOCK`): a FIFO or a device where a
    /// file is expected opens at once instead of blocking until a writer comes, so that the
    /// caller can look at what it is (`status()`) and refuse it. Reads of a regular file are
    /// not affected.
    public static func openForReadingWithoutWaiting(_ path: String) throws -> OpenFile {
        let fd = try retryingOnInterrupt("open", path) { open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC) }
        return OpenFile(adopting: fd, path: path)
    }

    /// Opens `path` read-only for direct I/O (`O_DIRECT`: reads bypass the page cache and must
    /// be aligned). Throws `EINVAL` where the file system has no direct I/O.
    public static func openForDirectReading(_ path: String) throws -> OpenFile {
        let fd = try retryingOnInterrupt("open", path) { open(path, O_RDONLY | O_CLOEXEC | appattach_O_DIRECT) }
        return OpenFile(adopting: fd, path: path)
    }

    /// Opens `path` for reading and writing, creating it if `create` is set.
    public static func openForWriting(_ path: String, create: Bool = true, truncate: Bool = false,
                                      mode: mode_t = 0o644) throws -> OpenFile {
        var flags = O_RDWR | O_CLOEXEC
        if create { flags |= O_CREAT }
        if truncate { flags |= O_TRUNC }
        let fd = try retryingOnInterrupt("open", path) { open(path, flags, mode) }
        return OpenFile(adopting: fd, path: path)
    }

    deinit { if !closed { Glibc.close(descriptor) } }

    /// Closes the descriptor now. Errors from `close` are reported, except `EINTR`
    /// (Linux has already released the descriptor then).
    public func close() throws {
        guard !closed else { return }
        closed = true
        if Glibc.close(descriptor) == -1 && errno != EINTR {
            throw SystemCallError("close", path)
        }
    }

    /// The file's size in bytes (`fstat`).
    public func size() throws -> UInt64 {
        var st = stat()
        try retryingOnInterrupt("stat", path) { fstat(descriptor, &st) }
        return UInt64(st.st_size)
    }

    /// `fstat` of the open file.
    public func status() throws -> stat {
        var st = stat()
        try retryingOnInterrupt("stat", path) { fstat(descriptor, &st) }
        return st
    }

    /// Reads exactly `count` bytes at `offset`. Throws `EIO`-style error (`ENODATA`) at end of file.
    public func read(count: Int, at offset: UInt64) throws -> [UInt8] {
        // Not zero-filled first: `read(into:at:)` fills every byte or throws.
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            try read(into: UnsafeMutableRawBufferPointer(buffer), at: offset)
            initialized = count
        }
    }

    /// Fills `buffer` completely from `offset`.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        var done = 0
        while done < buffer.count {
            let n = try retryingOnInterrupt("read", path) {
                pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            }
            if n == 0 { throw SystemCallError("read", path, errno: ENODATA) }
            done += n
        }
    }

    /// Tells the kernel that `count` bytes at `offset` will be read soon
    /// (`posix_fadvise(POSIX_FADV_WILLNEED)`): it starts reading the pages that are not cached
    /// yet, all at once, and returns without waiting. Reads of several structures whose places
    /// are known then wait for one round of I/O instead of one each. Only a hint: errors are ignored.
    public func willNeed(count: UInt64, at offset: UInt64) {
        guard count > 0, offset <= UInt64(Int64.max), count <= UInt64(Int64.max) - offset else { return }
        _ = posix_fadvise(descriptor, off_t(offset), off_t(count), POSIX_FADV_WILLNEED)
    }

    /// Reads up to `buffer.count` bytes at `offset`; returns how many were read (0 at end of file).
    public func readSome(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        try retryingOnInterrupt("read", path) {
            pread(descriptor, buffer.baseAddress!, buffer.count, off_t(offset))
        }
    }

    /// Writes all of `bytes` at `offset`.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        var done = 0
        while done < bytes.count {
            let n = try retryingOnInterrupt("write", path) {
                pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            }
            done += n
        }
    }

    /// Writes all of `bytes` at `offset`.
    public func write(_ bytes: [UInt8], at offset: UInt64) throws {
        try bytes.withUnsafeBytes { (raw) in try write(raw, at: offset) }
    }

    /// Sets the file's length (`ftruncate`): grows with a hole or shrinks.
    public func truncate(to length: UInt64) throws {
        try retryingOnInterrupt("truncate", path) { ftruncate(descriptor, off_t(length)) }
    }

    /// Flushes data and metadata to stable storage (`fsync`).
    public func sync() throws {
        try retryingOnInterrupt("fsync", path) { fsync(descriptor) }
    }
}
