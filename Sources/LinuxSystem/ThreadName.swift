import Glibc

/// The calling thread's name as the kernel shows it (`/proc/<pid>/task/<tid>/comm`, `top -H`,
/// `ps -L`): at most 15 bytes. Written through `/proc/thread-self/comm`, because glibc's
/// `pthread_setname_np` is hidden from Swift without `_GNU_SOURCE` and Foundation's
/// `Thread.name` does not reach the kernel.
public enum ThreadName {
    /// Names the calling thread; a name longer than 15 bytes is cut. Returns false when the
    /// kernel refused (no /proc).
    @discardableResult
    public static func set(_ name: String) -> Bool {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(name.utf8.prefix(15))
        return bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count
    }

    /// The calling thread's name.
    public static var current: String {
        let fd = open("/proc/thread-self/comm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        return n > 0 ? String(decoding: buffer[..<n].prefix { $0 != 0x0A }, as: UTF8.self) : ""
    }
}
