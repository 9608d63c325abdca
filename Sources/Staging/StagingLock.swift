import Glibc
import LinuxSystem

/// The one lock that serialises staging on a host: `Stage`, `Destage` and `Reconcile` hold it
/// while they change mounts, loop devices and records, in the agent and in `appattachctl`
/// alike. Without it a reconcile (a repair) running beside a stage takes the stage's loop
/// device, attached but not mounted yet, for a leftover and detaches it.
///
/// An exclusive `flock(2)` on `<runtime>/staging.lock` (0600, root's, like the directory it is
/// in). `flock` belongs to the open file description, so two threads of one process exclude
/// each other as two processes do, and the kernel drops it when its holder dies, `kill -9`
/// included: a crash never leaves the host locked. The file is opened close-on-exec, so no
/// program a holder starts (`mkfs`, `umount`) keeps it. Waits are bounded: past `timeout` the
/// caller gets an error naming the holder's pid and what it said it was doing, never a hang
/// behind a stage stuck on a dead share.
public struct StagingLock: ~Copyable {
    /// The lock file's name in the runtime directory.
    public static let fileName = "staging.lock"
    /// How long `appattachctl` waits for another stage, destage or repair to finish.
    public static let defaultTimeout: Duration = .seconds(30)

    private let descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { close(descriptor) }

    /// `<runtime>/staging.lock`.
    public static func path(_ paths: StagingPaths) -> String { paths.runtime + "/" + fileName }

    /// Runs `body` holding the lock, taken within `timeout`; `purpose` (`stage /srv/a.vhdx`)
    /// is what a process that waits in vain is told this holder was doing.
    public static func holding<T>(_ paths: StagingPaths, timeout: Duration, purpose: String,
                                  _ body: () throws -> T) throws -> T {
        let lock = try acquire(paths, timeout: timeout, purpose: purpose)
        do {
            let result = try body()
            lock.release()
            return result
        } catch {
            lock.release()
            throw error
        }
    }

    /// Lets the lock go (closes the file; `deinit` does the same).
    public consuming func release() {}

    /// Takes the lock, waiting at most `timeout`. Throws `StagingError` naming the file, and the
    /// holder when the wait ran out.
    public static func acquire(_ paths: StagingPaths, timeout: Duration, purpose: String) throws -> StagingLock {
        // The runtime directory is made here when missing: the lock comes before anything else.
        if mkdir(paths.runtime, 0o755) != 0 && errno != EEXIST {
            throw StagingError("cannot take the staging lock: \(SystemCallError("mkdir", paths.runtime))")
        }
        let file = path(paths)
        let fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw StagingError("cannot take the staging lock: \(SystemCallError("open", file))") }
        let lock = StagingLock(descriptor: fd)
        let deadline = monotonicNanoseconds() + nanoseconds(timeout)
        // Polled, not a blocking flock: a blocking one cannot be given a bound without a signal
        // aimed at this thread. From 1 ms up to 20 ms between tries: a stage takes milliseconds.
        var pause: UInt32 = 1_000
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                throw StagingError("cannot take the staging lock: \(SystemCallError("flock", file))")
            }
            if monotonicNanoseconds() >= deadline {
                throw StagingError("cannot take the staging lock \(file) within \(Self.seconds(timeout)): \(holder(of: fd, file: file)); try again once it has finished")
            }
            usleep(pause)
            pause = min(pause * 2, 20_000)
        }
        lock.describe(purpose)
        return lock
    }

    /// Writes `<pid> <purpose>` into the file, for whoever waits next (and for admins: `cat`).
    private func describe(_ purpose: String) {
        let text = Array("\(getpid()) \(purpose)\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    /// Who holds the lock on `fd`'s file: the pid the kernel lists for it in `/proc/locks`
    /// (the truth, whoever took it, `flock(1)` included), its command name, and what it said it
    /// was doing when the file's first word is that pid.
    static func holder(of fd: Int32, file: String) -> String {
        var st = stat()
        guard fstat(fd, &st) == 0, let pid = lockingPID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)) else {
            return "another process holds it (not listed in /proc/locks)"
        }
        var said = ""
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 {
            let line = String(decoding: buffer[..<n].prefix { $0 != 0x0A }, as: UTF8.self)
            if let space = line.firstIndex(of: " "), line[..<space] == "\(pid)" {
                said = ": " + line[line.index(after: space)...]
            }
        }
        return "pid \(pid) (\(command(of: pid) ?? "gone")) holds it\(said)"
    }

    /// The pid of the `flock` on the file (`device`, `inode`) in `/proc/locks`, whose lines read
    /// `1: FLOCK  ADVISORY  WRITE 1234 fe:00:6744316 0 EOF` (major and minor in hex); waiters'
    /// lines (`1: -> FLOCK …`) are skipped.
    static func lockingPID(device: UInt64, inode: UInt64) -> Int32? {
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfff)
        let minor = (device & 0xff) | ((device >> 12) & ~0xff)
        let wanted = hex2(major) + ":" + hex2(minor) + ":" + String(inode)
        guard let text = try? SysfsFile.read("/proc/locks") else { return nil }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 6, fields[1] == "FLOCK", fields[5] == wanted else { continue }
            return Int32(fields[4])
        }
        return nil
    }

    private static func hex2(_ value: UInt64) -> String {
        let text = String(value, radix: 16)
        return text.count < 2 ? "0" + text : text
    }

    /// `/proc/<pid>/comm`.
    private static func command(of pid: Int32) -> String? {
        try? SysfsFile.read("/proc/\(pid)/comm")
    }

    /// `CLOCK_MONOTONIC` in nanoseconds: a clock set back or forward does not stretch the wait
    /// (plain `clock_gettime`: `appattachctl stage` is a short-lived command).
    private static func monotonicNanoseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// `30 s`, `0.3 s`.
    private static func seconds(_ duration: Duration) -> String {
        let milliseconds = nanoseconds(duration) / 1_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(Double(milliseconds) / 1000) s"
    }
}
