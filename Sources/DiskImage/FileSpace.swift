import CLinuxShims
import Glibc
import LinuxSystem

/// Making room at the front of a file with the kernel's help.
enum FileSpace {
    /// Shifts the whole content of `file` up by `length` bytes, leaving a hole at the start,
    /// without copying: `fallocate(FALLOC_FL_INSERT_RANGE)` (ext4 and xfs; `length` must be a
    /// multiple of the filesystem block size). Returns false when the filesystem cannot do it
    /// (EOPNOTSUPP, EINVAL, ENOSYS), so that the caller copies instead.
    /// The corresponding C call is `fallocate`.
    static func insertHole(atStartOf file: OpenFile, length: UInt64) throws -> Bool {
        while true {
            if appattach_fallocate(file.descriptor, appattach_FALLOC_FL_INSERT_RANGE, 0, Int64(length)) == 0 { return true }
            switch errno {
            case EINTR: continue
            case EOPNOTSUPP, EINVAL, ENOSYS: return false
            case let e: throw SystemCallError("fallocate(FALLOC_FL_INSERT_RANGE)", file.path, errno: e)
            }
        }
    }
}
