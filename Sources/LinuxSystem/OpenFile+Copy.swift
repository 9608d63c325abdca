import CLinuxShims
import Glibc

extension OpenFile {
    /// Copies `count` bytes from the start of this file to `destination` at `offset`: with
    /// `copy_file_range`, so the kernel moves the data (and cifs can ask the server to copy
    /// server-side), or with reads and writes where the kernel cannot copy between these two
    /// files (EXDEV across filesystem types, EINVAL, ENOSYS, EOPNOTSUPP, as on FUSE).
    /// The corresponding C call is `copy_file_range`.
    public func copyContents(to destination: OpenFile, count: UInt64, at offset: UInt64 = 0) throws {
        var inOffset: Int64 = 0, outOffset = Int64(offset)
        let end = Int64(count)
        kernel: while inOffset < end {
            let n = appattach_copy_file_range(descriptor, &inOffset, destination.descriptor, &outOffset,
                                              UInt64(end - inOffset), 0)
            if n > 0 { UserFiles.noteProgress(); continue }
            // The source got shorter while we copied: never leave a silently truncated copy.
            if n == 0 { throw SystemCallError("copy_file_range", path, errno: ENODATA) }
            switch errno {
            case EINTR: continue
            case EXDEV, EINVAL, ENOSYS, EOPNOTSUPP: break kernel
            case let e: throw SystemCallError("copy_file_range", path, errno: e)
            }
        }
        // Only when the kernel could not copy: zeroing a 4 MiB buffer per call would cost more
        // than copying a small file.
        guard inOffset < end else { return }
        let chunk = 4 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        while inOffset < end {
            let n = Int(min(Int64(chunk), end - inOffset))
            try buffer.withUnsafeMutableBytes { raw in
                let slice = UnsafeMutableRawBufferPointer(rebasing: raw[0..<n])
                try read(into: slice, at: UInt64(inOffset))
                try destination.write(UnsafeRawBufferPointer(slice), at: UInt64(outOffset))
            }
            inOffset += Int64(n)
            outOffset += Int64(n)
            UserFiles.noteProgress()
        }
    }
}
