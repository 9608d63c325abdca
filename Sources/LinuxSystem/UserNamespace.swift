import CLinuxShims
import Glibc

/// An unprivileged user namespace with its own mount namespace, and the mounts an ordinary
/// user may make inside it: the one place that calls `unshare(2)`, writes the id maps, and
/// mounts overlays and empty file systems. Everything mounted here exists only in the calling
/// process's new mount namespace (and the processes it starts); the host never sees it.
///
/// Steps, as verified on Linux 6.x (`user_namespaces(7)`, `mount_namespaces(7)`):
/// `unshare(CLONE_NEWUSER | CLONE_NEWNS)`; `deny` to `/proc/self/setgroups`; the caller's own
/// uid and gid mapped to themselves; `/` made private recursively so no mount propagates back.
/// The caller keeps its uid and holds `CAP_SYS_ADMIN` over the new namespaces only; the
/// capabilities are gone again at the next `execve` of a program (the uid is not 0).
public enum UserNamespace {
    /// Flags every mount made here carries: the layer never holds set-uid programs or devices.
    public static let mountFlags = UInt(MS_NOSUID) | UInt(MS_NODEV)

    /// Enters a new user and mount namespace, maps the caller's ids to themselves, and makes
    /// every mount private. The process must have one thread: the kernel refuses
    /// `CLONE_NEWUSER` to a multi-threaded process (`EINVAL`), which is reported as such.
    ///
    /// The corresponding C function is `unshare`.
    public static func enter() throws(SystemCallError) {
        let uid = getuid(), gid = getgid()
        if appattach_unshare(appattach_CLONE_NEWUSER | appattach_CLONE_NEWNS) != 0 {
            let error = errno
            if error == EINVAL, let threads = threadCount(), threads > 1 {
                throw SystemCallError("unshare(CLONE_NEWUSER) with \(threads) threads", errno: error)
            }
            throw SystemCallError("unshare(CLONE_NEWUSER|CLONE_NEWNS)", errno: error)
        }
        try writeProcFile("/proc/self/setgroups", "deny")
        try writeProcFile("/proc/self/uid_map", "\(uid) \(uid) 1\n")
        try writeProcFile("/proc/self/gid_map", "\(gid) \(gid) 1\n")
        if mount(nil, "/", nil, UInt(MS_REC) | UInt(MS_PRIVATE), nil) != 0 {
            throw SystemCallError("mount --make-rprivate", "/")
        }
    }

    /// Mounts an overlay at `target` with the options `options` (lowerdir, upperdir, workdir,
    /// `userxattr`; see `OverlayOptions` in the Container module), `nosuid,nodev`.
    /// util-linux `mount(8)` refuses a non-root uid here, the kernel does not: `mount(2)` it is.
    public static func mountOverlay(target: String, options: String) throws(SystemCallError) {
        if mount("overlay", target, "overlay", mountFlags, options) != 0 {
            throw SystemCallError("mount overlay", target)
        }
    }

    /// Mounts an empty, read-only tmpfs at `target`, hiding what is below it.
    public static func hide(_ target: String) throws(SystemCallError) {
        let flags = mountFlags | UInt(MS_RDONLY) | UInt(MS_NOEXEC)
        if mount("tmpfs", target, "tmpfs", flags, "size=4k,mode=0500") != 0 {
            throw SystemCallError("mount tmpfs", target)
        }
    }

    /// Unmounts `target` (a mount made here, when setting up failed half-way).
    public static func unmount(_ target: String) throws(SystemCallError) {
        while umount2(target, Int32(UMOUNT_NOFOLLOW)) != 0 {
            if errno == EINTR { continue }
            throw SystemCallError("umount", target)
        }
    }

    /// How many threads the process has (`/proc/self/task`), or nil when it cannot be read.
    public static func threadCount() -> Int? {
        guard let dir = opendir("/proc/self/task") else { return nil }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            let first = withUnsafeBytes(of: entry.pointee.d_name) { $0[0] }
            if first != UInt8(ascii: ".") { count += 1 }
        }
        return count
    }

    private static func writeProcFile(_ path: String, _ text: String) throws(SystemCallError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError("open", path) }
        defer { close(fd) }
        let written = text.withCString { write(fd, $0, strlen($0)) }
        guard written == text.utf8.count else {
            throw SystemCallError("write", path, errno: written < 0 ? errno : EIO)
        }
    }
}
