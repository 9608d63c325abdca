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

    /// Unmounts `target`. Never lazily: a busy mount (`EBUSY`) is an error the caller must
    /// handle, because it means something still runs from it.
    public static func unmount(_ target: String) throws {
        while umount2(target, Int32(UMOUNT_NOFOLLOW)) != 0 {
            if errno == EINTR { continue }
            throw SystemCallError("umount", target)
        }
    }
}
