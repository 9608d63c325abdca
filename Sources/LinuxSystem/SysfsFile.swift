import Glibc

/// Reads small text files from /sys and /proc.
public enum SysfsFile {
    /// The whole file as text, without the trailing newline. Throws if it cannot be opened.
    public static func read(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw SystemCallError("open", path) }
        defer { close(fd) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw SystemCallError("read", path) }
            if n == 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        var text = String(decoding: data, as: UTF8.self)
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}

extension SysfsFile {
    /// Writes `text` to the /sys or cgroup file at `path` in one `write` (a symbolic link at
    /// the end of the path is not followed).
    public static func write(_ path: String, _ text: String) throws(SystemCallError) {
        let fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 { throw SystemCallError("open", path) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let n = try retryingOnInterrupt("write", path) { bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, $0.count) } }
        if n != bytes.count { throw SystemCallError("write", path, errno: EIO) }
    }
}
