import CLinuxShims
import Glibc

/// Mounting and unmounting: the one place that calls `mount(2)` and `umount2(2)`.
///
/// appattach mounts only read-only, without set-uid programs and without device files:
/// `MS_RDONLY | MS_NOSUID | MS_NODEV` is not an option here, it is always applied.
public enum Mount {
    /// Flags every appattach mount carries.
    public static let readOnlyFlags = UInt(MS_RDONLY) | UInt(MS_NOSUID) | UInt(MS_NODEV)

    /// Mounts the filesystem on `source` (a block device or, for EROFS on kernels that allow it,
    /// a regular file) at `target`, read-only. The corresponding C call is `mount`.
    public static func mountReadOnly(source: String, target: String, type: String, data: String? = nil) throws {
        let r: Int32
        if let data {
            r = mount(source, target, type, readOnlyFlags, data)
        } else {
            r = mount(source, target, type, readOnlyFlags, nil)
        }
        if r != 0 { throw SystemCallError("mount", "\(source) on \(target)") }
    }

    /// Binds `source` (a directory inside a mounted image) to `target`, read-only.
    /// A bind mount ignores MS_RDONLY on the first call, so it is remounted read-only after.
    public static func bindReadOnly(source: String, target: String) throws {
        if mount(source, target, nil, UInt(MS_BIND), nil) != 0 {
            throw SystemCallError("mount --bind", "\(source) on \(target)")
        }
        if mount("none", target, nil, UInt(MS_BIND) | UInt(MS_REMOUNT) | readOnlyFlags, nil) != 0 {
            let error = SystemCallError("mount -o remount,bind,ro", target)
            umount2(target, 0)
            throw error
        }
    }

    /// Whether something holds `target` (a working directory, an open file, a mapping, a mount
    /// below it), asked the kernel way: `umount2(MNT_EXPIRE)` fails with `EBUSY` on a busy mount
    /// and only marks an idle one as expired. A second `MNT_EXPIRE` would unmount a marked mount,
    /// so the mark is cleared again right away: the kernel drops it when the mount's reference
    /// count is put, which opening and closing the mount point does. So this never unmounts.
    public static func isBusy(_ target: String) throws -> Bool {
        while umount2(target, Int32(MNT_EXPIRE) | Int32(UMOUNT_NOFOLLOW)) != 0 {
            switch errno {
            case EINTR:
                continue
            case EAGAIN:
                let fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                if fd >= 0 { close(fd) }
                return false
            case EBUSY:
                return true
            default:
                throw SystemCallError("umount(MNT_EXPIRE)", target)
            }
        }
        // Only an already-marked mount is unmounted by MNT_EXPIRE; ours are never left marked.
        throw SystemCallError("umount(MNT_EXPIRE)", target, errno: EINVAL)
    }

    /// Whether `path` is the root of a mount, asked of the kernel for this one path (`statx`
    /// `STATX_ATTR_MOUNT_ROOT`), so the answer costs the same with 1 or 1,000 mounts. Where the
    /// kernel cannot tell, a directory whose device differs from its parent's is a mount root.
    public static func isMountPoint(_ path: String) -> Bool {
        switch appattach_is_mount_root(path) {
        case 1: return true
        case 0, -1: return false
        default:
            guard let device = deviceID(of: path), let slash = path.lastIndex(of: "/") else { return false }
            let parent = slash == path.startIndex ? "/" : String(path[..<slash])
            return deviceID(of: parent) != device
        }
    }

    /// The device id of the filesystem `path` is on (`lstat`); bind mounts of one filesystem share it.
    public static func deviceID(of path: String) -> UInt64? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return UInt64(st.st_dev)
    }

    /// Whether `target` is busy and stays so: `isBusy`, asked again while it says yes, over
    /// about a quarter of a second (`transientRetries`). A mount can be busy for a moment only:
    /// when another thread of this process starts a program just as this one has a directory
    /// of the mount open (as `isBusy` does), the child holds a copy of that descriptor until its
    /// `exec` closes it, which on a loaded host takes tens of milliseconds.
    public static func staysBusy(_ target: String) throws -> Bool {
        var delay: UInt32 = 2_000
        for _ in 0..<transientRetries {
            guard try isBusy(target) else { return false }
            usleep(delay)
            delay *= 2
        }
        return try isBusy(target)
    }

    /// How often a busy answer is asked again before it counts: 2 ms, doubling, 7 times
    /// (about 250 ms in all).
    static let transientRetries = 7

    /// Unmounts `target`. Never lazily: a busy mount (`EBUSY`) is an error the caller must
    /// handle, because it means something still runs from it. `EBUSY` is tried again as
    /// `staysBusy` does, for the same reason, before it is reported.
    public static func unmount(_ target: String) throws {
        var delay: UInt32 = 2_000
        var retries = transientRetries
        while umount2(target, Int32(UMOUNT_NOFOLLOW)) != 0 {
            if errno == EINTR { continue }
            if errno == EBUSY && retries > 0 {
                retries -= 1
                usleep(delay)
                delay *= 2
                continue
            }
            throw SystemCallError("umount", target)
        }
    }
}
