import CLinuxShims
import Glibc

/// An open directory that this process owns, and the operations on the names directly in it.
///
/// Every name is one path component, resolved by the kernel beneath this directory without
/// following symbolic links and without entering a mount point (`openat2(RESOLVE_BENEATH |
/// RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV)`, `O_NOFOLLOW`): a link put where a directory or a
/// file is expected ends the call with `ELOOP`, a file system mounted there (a user's FUSE
/// mount whose server never answers) with `EXDEV`, instead of leading elsewhere. What a name
/// is comes from an `O_PATH` descriptor of it (`status(of:)`), so that looking never waits on
/// another file system either. Trees of untrusted files are walked with one `OpenDirectory`
/// per level (see `OpenDirectory+Tree.swift`).
public final class OpenDirectory {
    /// The raw descriptor (`O_RDONLY | O_DIRECTORY`). Valid while this object lives.
    public let descriptor: Int32
    /// How the directory reads in messages.
    public let path: String

    /// Takes ownership of `descriptor`, an open directory.
    public init(adopting descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close(descriptor) }

    static let resolve = appattach_RESOLVE_BENEATH | appattach_RESOLVE_NO_SYMLINKS | appattach_RESOLVE_NO_MAGICLINKS
        | appattach_RESOLVE_NO_XDEV

    /// Opens the directory at the absolute `path`. Its parents are trusted (the administrator's);
    /// the last component must not be a symbolic link. With `owner`, it must belong to that uid.
    public static func open(_ path: String, owner: uid_t? = nil) throws(SystemCallError) -> OpenDirectory {
        let fd = try retryingOnInterrupt("open", path) { Glibc.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        return try OpenDirectory(adopting: fd, path: path).owned(by: owner)
    }

    /// This directory, if it belongs to `owner` (or `owner` is nil); throws `EPERM` otherwise.
    private func owned(by owner: uid_t?) throws(SystemCallError) -> OpenDirectory {
        guard let owner else { return self }
        let st = try status()
        guard st.st_uid == owner else {
            throw SystemCallError("open (owned by uid \(st.st_uid), not \(owner))", path, errno: EPERM)
        }
        return self
    }

    /// How `name` in this directory reads in messages.
    public func display(_ name: String) -> String { path + "/" + name }

    /// `fstat` of the directory itself.
    public func status() throws(SystemCallError) -> stat {
        var st = stat()
        try retryingOnInterrupt("stat", path) { fstat(descriptor, &st) }
        return st
    }

    /// What `name` is, without following a symbolic link; nil when it does not exist. A mount
    /// point there throws `EXDEV` rather than asking the file system mounted on it. The
    /// corresponding C calls are `openat2(O_PATH | O_NOFOLLOW)` and `fstat`.
    public func status(of name: String) throws(SystemCallError) -> stat? {
        try Self.check(name)
        let fd = appattach_openat2(descriptor, name, UInt64(appattach_O_PATH | O_NOFOLLOW | O_CLOEXEC), 0, Self.resolve)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw ConfinedDirectory.openError("stat", display(name))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemCallError("stat", display(name)) }
        return st
    }

    /// Opens the directory `name` in the directory at the absolute `parent` (trusted, like
    /// `open`'s parents; reached with `O_PATH`, so search permission is enough), without
    /// following a link at `name` or entering a mount point there. With `owner`, it must
    /// belong to that uid. Throws `ENOENT` when it does not exist.
    public static func open(_ name: String, in parent: String, owner: uid_t? = nil) throws(SystemCallError) -> OpenDirectory {
        try check(name)
        let parentFD = try retryingOnInterrupt("open", parent) { Glibc.open(parent, appattach_O_PATH | O_DIRECTORY | O_CLOEXEC) }
        defer { close(parentFD) }
        let path = parent + "/" + name
        let fd = appattach_openat2(parentFD, name, UInt64(O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), 0, resolve)
        guard fd >= 0 else { throw ConfinedDirectory.openError("open", path) }
        return try OpenDirectory(adopting: fd, path: path).owned(by: owner)
    }

    /// The names in the directory, without `.` and `..`.
    public func names() throws(SystemCallError) -> [String] {
        // A second descriptor: `closedir` closes the one it was given.
        let fd = openat(descriptor, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError("open", path) }
        guard let stream = fdopendir(fd) else { let error = SystemCallError("opendir", path); close(fd); throw error }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = DirectoryListing.name(of: entry)
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Opens the directory `name`; nil when there is none. A symbolic link there throws `ELOOP`.
    public func openDirectory(_ name: String) throws(SystemCallError) -> OpenDirectory? {
        try Self.check(name)
        let fd = appattach_openat2(descriptor, name, UInt64(O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), 0, Self.resolve)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw ConfinedDirectory.openError("open", display(name))
        }
        return OpenDirectory(adopting: fd, path: display(name))
    }

    /// Makes the directory `name` with `mode` (exactly: the umask does not apply) unless it
    /// exists, and opens it. The corresponding C call is `mkdirat`.
    public func makeDirectory(_ name: String, mode: mode_t = 0o700) throws(SystemCallError) -> OpenDirectory {
        try Self.check(name)
        let made = mkdirat(descriptor, name, mode) == 0
        if !made && errno != EEXIST { throw SystemCallError("mkdir", display(name)) }
        guard let directory = try openDirectory(name) else { throw SystemCallError("open", display(name), errno: ENOENT) }
        if made { try retryingOnInterrupt("chmod", display(name)) { fchmod(directory.descriptor, mode) } }
        return directory
    }

    /// Opens the regular file `name` for reading. `O_NONBLOCK` so that a FIFO put there in the
    /// meantime cannot hang the caller; anything but a regular file throws `EINVAL`.
    public func openFileForReading(_ name: String) throws(SystemCallError) -> OpenFile {
        try Self.check(name)
        let fd = appattach_openat2(descriptor, name, UInt64(O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), 0, Self.resolve)
        guard fd >= 0 else { throw ConfinedDirectory.openError("open", display(name)) }
        let file = OpenFile(adopting: fd, path: display(name))
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemCallError("stat", display(name)) }
        guard st.st_mode & S_IFMT == S_IFREG else { throw SystemCallError("open (not a regular file)", display(name), errno: EINVAL) }
        return file
    }

    /// Creates the new regular file `name` (it must not exist) with `mode` and opens it for writing.
    public func createFile(_ name: String, mode: mode_t) throws(SystemCallError) -> OpenFile {
        try Self.check(name)
        let fd = appattach_openat2(descriptor, name, UInt64(O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC),
                                   UInt64(mode & 0o7777), Self.resolve)
        guard fd >= 0 else { throw ConfinedDirectory.openError("create", display(name)) }
        return OpenFile(adopting: fd, path: display(name))
    }

    /// The target of the symbolic link `name`. The corresponding C call is `readlinkat`.
    public func readSymbolicLink(_ name: String) throws(SystemCallError) -> String {
        try Self.check(name)
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = buffer.withUnsafeMutableBufferPointer { readlinkat(descriptor, name, $0.baseAddress!, $0.count) }
        guard n >= 0 else { throw SystemCallError("readlink", display(name)) }
        return String(decoding: buffer.prefix(n), as: UTF8.self)
    }

    /// Makes the symbolic link `name` pointing at `target` (never resolved here).
    public func makeSymbolicLink(_ name: String, target: String) throws(SystemCallError) {
        try Self.check(name)
        guard symlinkat(target, descriptor, name) == 0 else { throw SystemCallError("symlink", display(name)) }
    }

    /// Makes an overlayfs whiteout `name`: a character device 0/0, which Linux 5.8 and later let
    /// anyone make. The corresponding C call is `mknodat`.
    public func makeWhiteout(_ name: String) throws(SystemCallError) {
        try Self.check(name)
        guard mknodat(descriptor, name, S_IFCHR, 0) == 0 else { throw SystemCallError("mknod (whiteout)", display(name)) }
    }

    /// Sets the access and modification times of `name` (a link's own). `utimensat(AT_SYMLINK_NOFOLLOW)`.
    public func setTimes(_ name: String, access: timespec, modification: timespec) throws(SystemCallError) {
        try Self.check(name)
        let times = [access, modification]
        guard utimensat(descriptor, name, times, AT_SYMLINK_NOFOLLOW) == 0 else { throw SystemCallError("utimensat", display(name)) }
    }

    /// Sets the mode of `name`, which must not be a symbolic link. The corresponding C call is `fchmodat`.
    public func setMode(_ name: String, _ mode: mode_t) throws(SystemCallError) {
        try Self.check(name)
        guard fchmodat(descriptor, name, mode & 0o7777, 0) == 0 else { throw SystemCallError("chmod", display(name)) }
    }

    /// How `rename` treats an existing target.
    public enum RenameMode: Sendable {
        /// Fail with `EEXIST` if the target exists (`RENAME_NOREPLACE`). Where the file system
        /// cannot do that (NFS, and FUSE file systems without `rename2`, say `EINVAL`), the
        /// target is looked up first and a plain rename follows: then only a creator racing
        /// between the two could be replaced.
        case noReplace
        /// Swap source and target atomically; both must exist (`RENAME_EXCHANGE`). NFS, SMB and
        /// many FUSE file systems refuse it with `EINVAL`.
        case exchange
        /// Replace whatever is at the target, as `rename(2)` does.
        case replace
    }

    /// Renames `name` to `target` in this directory. The corresponding C call is `renameat2`.
    public func rename(_ name: String, to target: String, _ mode: RenameMode) throws(SystemCallError) {
        try Self.check(name)
        try Self.check(target)
        let flags: UInt32
        switch mode {
        case .noReplace: flags = appattach_RENAME_NOREPLACE
        case .exchange: flags = appattach_RENAME_EXCHANGE
        case .replace: flags = 0
        }
        if appattach_renameat2(descriptor, name, descriptor, target, flags) == 0 { return }
        let call = switch mode {
        case .noReplace: "renameat2(RENAME_NOREPLACE)"
        case .exchange: "renameat2(RENAME_EXCHANGE)"
        case .replace: "rename"
        }
        let error = SystemCallError(call, display(name))
        guard mode == .noReplace, error.errno == EINVAL else { throw error }
        if try status(of: target) != nil { throw SystemCallError(call, display(name), errno: EEXIST) }
        try rename(name, to: target, .replace)
    }

    /// Removes the file, link or empty directory `name`; false when there was none.
    @discardableResult
    public func remove(_ name: String, directory: Bool = false) throws(SystemCallError) -> Bool {
        try Self.check(name)
        if unlinkat(descriptor, name, directory ? AT_REMOVEDIR : 0) != 0 {
            if errno == ENOENT { return false }
            throw SystemCallError(directory ? "rmdir" : "unlink", display(name))
        }
        return true
    }

    /// Flushes the directory's own entries to stable storage (`fsync`), so that a rename in it
    /// survives a crash.
    public func sync() throws(SystemCallError) {
        try retryingOnInterrupt("fsync", path) { fsync(descriptor) }
    }

    /// Writes back everything dirty on the file system that holds this directory: data,
    /// metadata and, on journaling file systems, the journal. Since Linux 5.8 it also reports
    /// write-back errors of that file system. The corresponding C call is `syncfs`.
    public func syncFileSystem() throws(SystemCallError) {
        // What was written before counts as progress: the sync gets a whole stall period.
        UserFiles.noteProgress()
        try retryingOnInterrupt("syncfs", path) { appattach_syncfs(descriptor) }
    }

    /// A name must be one component: no slash, not `.` or `..`.
    static func check(_ name: String) throws(SystemCallError) {
        if name.isEmpty || name == "." || name == ".." || name.contains("/") {
            throw SystemCallError("resolve", name, errno: EINVAL)
        }
    }
}
