import CLinuxShims
import Glibc
import LinuxSystem

/// Making room at the front of a file, and copying file data, with the kernel's help.
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

    /// Copies `count` bytes from offset 0 of `source` to `offset` of `destination` with
    /// `copy_file_range` (which shares extents on filesystems that can), or with read and write
    /// when the kernel cannot copy between these files (EXDEV, EINVAL, ENOSYS, EOPNOTSUPP).
    static func copy(from source: OpenFile, count: UInt64, to destination: OpenFile, at offset: UInt64) throws {
        var inOffset: Int64 = 0, outOffset = Int64(offset)
        let end = Int64(count)
        kernel: while inOffset < end {
            let n = appattach_copy_file_range(source.descriptor, &inOffset, destination.descriptor, &outOffset,
                                              UInt64(end - inOffset), 0)
            if n > 0 { continue }
            if n == 0 { throw SystemCallError("copy_file_range", source.path, errno: ENODATA) }
            switch errno {
            case EINTR: continue
            case EXDEV, EINVAL, ENOSYS, EOPNOTSUPP: break kernel
            case let e: throw SystemCallError("copy_file_range", source.path, errno: e)
            }
        }
        // Fallback for what the kernel did not copy.
        let chunk = 4 * 1024 * 1024
        while inOffset < end {
            let n = Int(min(Int64(chunk), end - inOffset))
            let bytes = try source.read(count: n, at: UInt64(inOffset))
            try destination.write(bytes, at: UInt64(outOffset))
            inOffset += Int64(n)
            outOffset += Int64(n)
        }
    }
}
