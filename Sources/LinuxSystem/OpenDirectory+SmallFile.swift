import CLinuxShims
import Glibc

extension OpenDirectory {
    /// Writes `bytes` as the regular file `name`: into a new hidden file `.<name>.tmp-<random>`
    /// beside it, then renamed over whatever is at `name` (a link there is replaced, not
    /// followed), so `name` holds either the old contents or the new ones, never part.
    ///
    /// `durable` adds an `fsync` of the file before the rename and of this directory after
    /// it: the new contents survive a power cut once this returns.
    public func writeSmallFile(_ name: String, _ bytes: [UInt8], mode: mode_t = 0o600, durable: Bool) throws(SystemCallError) {
        try Self.check(name)
        var suffix = ""
        for _ in 0..<4 { suffix += String(UInt8.random(in: 0...255), radix: 16) }
        let temporary = ".\(name).tmp-\(suffix)"
        let file = try createFile(temporary, mode: mode)
        var failure: SystemCallError?
        var done = 0
        while done < bytes.count && failure == nil {
            let n = bytes.withUnsafeBytes { Glibc.write(file.descriptor, $0.baseAddress! + done, $0.count - done) }
            if n < 0 { if errno != EINTR { failure = SystemCallError("write", display(name)) } } else { done += n }
        }
        if failure == nil && durable && fsync(file.descriptor) != 0 { failure = SystemCallError("fsync", display(name)) }
        if failure == nil {
            do { try rename(temporary, to: name, .replace) } catch { failure = error }
        }
        if let failure {
            unlinkat(descriptor, temporary, 0)
            throw failure
        }
        if durable { try sync() }
    }

    /// The contents of the regular file `name`; nil when there is none. Anything else there
    /// (a link, a directory, a device) throws `EINVAL`, a file larger than `limit` `EFBIG`.
    public func readSmallFile(_ name: String, limit: Int = 4096) throws(SystemCallError) -> [UInt8]? {
        try Self.check(name)
        let fd = appattach_openat2(descriptor, name, UInt64(O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), 0, Self.resolve)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw ConfinedDirectory.openError("open", display(name))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemCallError("stat", display(name)) }
        guard st.st_mode & S_IFMT == S_IFREG else { throw SystemCallError("open (not a regular file)", display(name), errno: EINVAL) }
        guard Int(st.st_size) <= limit else { throw SystemCallError("read (larger than \(limit) bytes)", display(name), errno: EFBIG) }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 { if errno == EINTR { continue }; throw SystemCallError("read", display(name)) }
            if n == 0 { break }
            done += n
        }
        return Array(bytes.prefix(done))
    }
}
