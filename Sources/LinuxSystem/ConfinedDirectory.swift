import CLinuxShims
import Glibc

/// A directory whose contents are reached only beneath it: every path is relative and is
/// resolved by the kernel with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
/// RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)` one directory at a time, so a symbolic link
/// anywhere on the way, a `..`, or a mount point below the directory ends the operation with
/// `ELOOP`/`EXDEV` instead of leading somewhere else. Used for users' homes (see `UserHome`)
/// and for reading untrusted package trees.
///
/// Mount points: the directory itself may be one (NFS and SMB homes are), but nothing
/// legitimate mounts a file system *below* a home where appattach writes, while a user can
/// put a FUSE mount at `~/.config` whose server never answers, so the kernel is never asked to
/// enter one (`EXDEV`, "a mount point … not entered"). What is at a name is found with an
/// `O_PATH` open that does not cross a mount, then `fstat` of that descriptor, so looking does
/// not wait for another file system's server either. A FIFO or a device where a file is
/// expected is never opened for reading or writing without `O_NONBLOCK`: files are read with
/// it and checked with `fstat`, and written under a new temporary name then renamed.
///
/// New files are written under a hidden temporary name and renamed into place, so readers
/// (menus, file managers) never see half a file, and a symbolic link at the final name is
/// replaced, never followed.
public class ConfinedDirectory {
    /// The directory, as opened.
    public let path: String
    private let descriptor: Int32
    /// Directories already opened, by relative path: callers write several files into the
    /// same few directories.
    private var directories: [String: Int32] = [:]
    /// The mode of directories that `writeFile` makes.
    public let directoryMode: mode_t

    /// What is at a path, without following a symbolic link there.
    public enum Kind: Equatable, Sendable {
        case missing
        case regularFile(size: Int)
        case directory
        case symbolicLink
        case other
    }

    /// Opens `path`. Its own parents are trusted (they belong to the administrator: a link
    /// such as `/home/alice` -> `/srv/homes/alice` may be followed); what lies below is not.
    /// With `owner`, the directory must belong to that uid.
    public init(path: String, owner: uid_t? = nil, directoryMode: mode_t = 0o755) throws(SystemCallError) {
        self.path = path
        self.directoryMode = directoryMode
        let fd = open(path, appattach_O_PATH | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError("open", path) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { let error = SystemCallError("stat", path); close(fd); throw error }
        if let owner, st.st_uid != owner {
            close(fd)
            throw SystemCallError("open (owned by uid \(st.st_uid), not \(owner))", path, errno: EPERM)
        }
        descriptor = fd
    }

    deinit {
        for fd in directories.values { close(fd) }
        close(descriptor)
    }

    static let resolve = appattach_RESOLVE_BENEATH | appattach_RESOLVE_NO_SYMLINKS | appattach_RESOLVE_NO_MAGICLINKS
        | appattach_RESOLVE_NO_XDEV

    /// How a path below reads in messages.
    public func display(_ relative: String) -> String { relative.isEmpty ? path : path + "/" + relative }

    /// What is at `path`, without following a symbolic link there and without entering a
    /// mount point (that throws `EXDEV`). The corresponding C calls are `openat2(O_PATH |
    /// O_NOFOLLOW)` and `fstat`.
    public func kind(of path: String) throws(SystemCallError) -> Kind {
        let (parent, name) = try split(path)
        guard let dir = try directory(parent, create: false) else { return .missing }
        let fd = appattach_openat2(dir, name, UInt64(appattach_O_PATH | O_NOFOLLOW | O_CLOEXEC), 0, Self.resolve)
        if fd < 0 {
            if errno == ENOENT || errno == ENOTDIR { return .missing }
            throw Self.openError("stat", display(path))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemCallError("stat", display(path)) }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .regularFile(size: Int(st.st_size))
        case S_IFDIR: return .directory
        case S_IFLNK: return .symbolicLink
        default: return .other
        }
    }

    /// The error of an `openat2` below this directory that failed with `errno`, saying why
    /// when the reason is one of the refusals: a symbolic link, or a mount point.
    static func openError(_ call: String, _ subject: String, errno code: Int32 = errno) -> SystemCallError {
        switch code {
        case ELOOP: SystemCallError("\(call) (symbolic link, not followed)", subject, errno: code)
        case EXDEV: SystemCallError("\(call) (a mount point: another file system is mounted there, not entered)", subject, errno: code)
        default: SystemCallError(call, subject, errno: code)
        }
    }

    /// The contents of the regular file at `path`, or nil when there is none (missing, a
    /// symbolic link, a directory, or larger than `limit`).
    public func readRegularFile(_ path: String, limit: Int = 1 << 20) throws(SystemCallError) -> [UInt8]? {
        guard let (fd, size) = try openRegular(path) else { return nil }
        defer { close(fd) }
        guard size <= limit else { return nil }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 { if errno == EINTR { continue }; throw SystemCallError("read", display(path)) }
            if n == 0 { break }
            done += n
        }
        return Array(bytes.prefix(done))
    }

    /// The regular file at `path` opened for reading, or nil when there is none (missing, a
    /// symbolic link, a directory, a FIFO or a device): for files too large to read whole.
    public func openRegularFile(_ path: String) throws(SystemCallError) -> OpenFile? {
        guard let (fd, _) = try openRegular(path) else { return nil }
        return OpenFile(adopting: fd, path: display(path))
    }

    /// The descriptor and size of the regular file at `path`, opened without following a link
    /// or blocking on a FIFO; nil when there is none. The caller closes the descriptor.
    private func openRegular(_ path: String) throws(SystemCallError) -> (Int32, Int)? {
        let (parent, name) = try split(path)
        guard let dir = try directory(parent, create: false) else { return nil }
        let fd = appattach_openat2(dir, name, UInt64(O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK), 0, Self.resolve)
        if fd < 0 {
            if [ENOENT, ELOOP, ENOTDIR, ENXIO, EISDIR].contains(errno) { return nil }
            throw Self.openError("open", display(path))
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else { let error = SystemCallError("stat", display(path)); close(fd); throw error }
        guard st.st_mode & S_IFMT == S_IFREG else { close(fd); return nil }
        return (fd, Int(st.st_size))
    }

    /// A regular file read whole, with what its new version keeps: see `readWholeFile`.
    public struct WholeFile: Sendable, Equatable {
        /// Every byte, up to the end of the file as the read found it.
        public var bytes: [UInt8]
        /// Its permission bits (`st_mode & 07777`): the new version is written with them.
        public var mode: mode_t

        public init(bytes: [UInt8], mode: mode_t) {
            self.bytes = bytes
            self.mode = mode
        }
    }

    /// The whole regular file at `path` and its mode, for rewriting it: nil only when nothing
    /// is there. Unlike `readRegularFile`, nothing else is taken for "no file", because a
    /// rewrite would then replace what is there: a symbolic link, a directory or a device
    /// throws, and so does a file longer than `limit`, before anything is written, with the
    /// reason (`EFBIG`). The file is read to its end, however long it grew since `fstat`.
    public func readWholeFile(_ path: String, limit: Int) throws(SystemCallError) -> WholeFile? {
        let (parent, name) = try split(path)
        guard let dir = try directory(parent, create: false) else { return nil }
        let fd = appattach_openat2(dir, name, UInt64(O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK), 0, Self.resolve)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw Self.openError("open", display(path))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemCallError("stat", display(path)) }
        guard st.st_mode & S_IFMT == S_IFREG else { throw SystemCallError("open (not a regular file)", display(path), errno: EINVAL) }
        let tooLong = { (size: Int) in
            SystemCallError("read (\(Self.describeSize(size)), more than the \(Self.describeSize(limit)) appattach rewrites; left as it is)",
                            self.display(path), errno: EFBIG)
        }
        if Int(st.st_size) > limit { throw tooLong(Int(st.st_size)) }
        // One byte more than the limit, so that a file that grew past it is noticed.
        var bytes = [UInt8](repeating: 0, count: min(max(Int(st.st_size), 4096), limit) + 1)
        var done = 0
        while true {
            if done == bytes.count {
                guard bytes.count <= limit else { throw tooLong(done) }
                bytes += [UInt8](repeating: 0, count: min(bytes.count, limit + 1 - bytes.count))
            }
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 { if errno == EINTR { continue }; throw SystemCallError("read", display(path)) }
            if n == 0 { break }
            done += n
        }
        if done > limit { throw tooLong(done) }
        return WholeFile(bytes: Array(bytes.prefix(done)), mode: st.st_mode & 0o7777)
    }

    /// `1536 bytes`, `3 MiB`, `64 MiB`: sizes in messages.
    static func describeSize(_ bytes: Int) -> String {
        if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 20 { return "\(bytes) bytes (\(bytes >> 20) MiB)" }
        return "\(bytes) bytes"
    }

    /// Writes `bytes` to `path` with `mode`: a temporary file beside it, then `renameat` over
    /// whatever is there (a symbolic link there is replaced, not followed). Missing parent
    /// directories are made with `directoryMode`.
    ///
    /// `durable` adds an `fsync` before the rename: for files that hold the user's own
    /// settings. Files that registration regenerates at every sign-in skip it, because one
    /// `fsync` per file would cost more than the whole registration should.
    public func writeFile(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644, durable: Bool = false) throws(SystemCallError) {
        let (parent, name) = try split(path)
        guard let dir = try directory(parent, create: true) else { throw SystemCallError("mkdir", display(parent), errno: ENOENT) }
        var suffix = ""
        for _ in 0..<4 { suffix += String(UInt8.random(in: 0...255), radix: 16) }
        let temporary = ".\(name).tmp-\(suffix)"
        let fd = appattach_openat2(dir, temporary, UInt64(O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW), UInt64(mode), Self.resolve)
        guard fd >= 0 else { throw Self.openError("create", display(path)) }
        var failure: SystemCallError?
        var done = 0
        while done < bytes.count && failure == nil {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 { if errno != EINTR { failure = SystemCallError("write", display(path)) } } else { done += n }
        }
        // The process umask must not decide the mode of a launcher script.
        if failure == nil && fchmod(fd, mode) != 0 { failure = SystemCallError("chmod", display(path)) }
        if failure == nil && durable && fsync(fd) != 0 { failure = SystemCallError("fsync", display(path)) }
        close(fd)
        if failure == nil && renameat(dir, temporary, dir, name) != 0 { failure = SystemCallError("rename", display(path)) }
        if let failure {
            unlinkat(dir, temporary, 0)
            throw failure
        }
    }

    /// Removes the file or symbolic link at `path`; false when there was none.
    /// The corresponding C call is `unlinkat`.
    @discardableResult
    public func remove(_ path: String) throws(SystemCallError) -> Bool {
        let (parent, name) = try split(path)
        guard let dir = try directory(parent, create: false) else { return false }
        if unlinkat(dir, name, 0) != 0 {
            if errno == ENOENT { return false }
            throw SystemCallError("unlink", display(path))
        }
        return true
    }

    /// The names in directory `path` (without `.` and `..`), or nil when it does not exist.
    public func list(_ path: String) throws(SystemCallError) -> [String]? {
        try checkRelative(path)
        let fd = path.isEmpty ? openat(descriptor, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            : appattach_openat2(descriptor, path, UInt64(O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0, Self.resolve)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw Self.openError("open", display(path))
        }
        guard let stream = fdopendir(fd) else { let error = SystemCallError("opendir", display(path)); close(fd); throw error }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = DirectoryListing.name(of: entry)
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The directory at `path` (relative, "" for this one) opened for the `OpenDirectory`
    /// operations, reached without following links; missing directories are made with
    /// `directoryMode` when `create` is set, nil otherwise.
    public func openDirectory(_ path: String, create: Bool) throws(SystemCallError) -> OpenDirectory? {
        try checkRelative(path)
        guard let dir = try directory(path, create: create) else { return nil }
        let fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError("open", display(path)) }
        return OpenDirectory(adopting: fd, path: display(path))
    }

    /// An open descriptor of directory `path` (relative, "" for the home), walking one
    /// component at a time and making missing ones when `create` is set; nil when missing.
    private func directory(_ path: String, create: Bool) throws(SystemCallError) -> Int32? {
        if path.isEmpty { return descriptor }
        if let cached = directories[path] { return cached }
        var current = descriptor
        var walked = ""
        for component in path.split(separator: "/").map(String.init) {
            walked += walked.isEmpty ? component : "/" + component
            if let cached = directories[walked] { current = cached; continue }
            var fd = appattach_openat2(current, component, UInt64(appattach_O_PATH | O_DIRECTORY | O_CLOEXEC), 0, Self.resolve)
            if fd < 0 && errno == ENOENT && create {
                if mkdirat(current, component, directoryMode) != 0 && errno != EEXIST { throw SystemCallError("mkdir", display(walked)) }
                fd = appattach_openat2(current, component, UInt64(appattach_O_PATH | O_DIRECTORY | O_CLOEXEC), 0, Self.resolve)
            }
            if fd < 0 {
                if errno == ENOENT && !create { return nil }
                throw Self.openError("open", display(walked))
            }
            directories[walked] = fd
            current = fd
        }
        return current
    }

    private func split(_ path: String) throws(SystemCallError) -> (String, String) {
        try checkRelative(path)
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    /// Paths come from our own plans, but a bad one must fail here rather than reach a syscall.
    private func checkRelative(_ path: String) throws(SystemCallError) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        if path.hasPrefix("/") || (!path.isEmpty && parts.contains { $0.isEmpty || $0 == "." || $0 == ".." }) {
            throw SystemCallError("resolve", path, errno: EINVAL)
        }
    }
}
