import Glibc

/// A file that appears under its final name only when it is complete.
///
/// Writes go to a hidden temporary file in the same directory (so the final `rename` is atomic
/// on the same file system). `commit()` syncs and renames it; if the value is released without
/// `commit()`, for example because an error was thrown, the temporary file is removed, so bad input
/// never leaves a half-made file behind.
public final class AtomicOutput: @unchecked Sendable {
    /// The name the file will have once committed.
    public let finalPath: String
    /// Where the data is written until then.
    public let temporaryPath: String
    /// The open temporary file.
    public let file: OpenFile
    private var committed = false

    /// Creates the temporary file beside `finalPath`.
    public init(finalPath: String, mode: mode_t = 0o644) throws {
        self.finalPath = finalPath
        let (dir, base) = Self.split(finalPath)
        let temporary = (dir.isEmpty ? "" : dir + "/") + ".\(base).tmp-\(Self.randomSuffix)"
        let fd = try retryingOnInterrupt("create", temporary) {
            open(temporary, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        }
        self.temporaryPath = temporary
        self.file = OpenFile(adopting: fd, path: temporary)
    }

    /// Syncs the data and renames the file to its final name, replacing any older file there.
    /// With `durable` false it only renames: the file is still never seen half-written, even if
    /// the process is killed, but a power loss may lose it. That is right for state that a
    /// power loss ends anyway, such as a record of what is mounted.
    public func commit(durable: Bool = true) throws {
        if durable { try file.sync() }
        try retryingOnInterrupt("rename", finalPath) { rename(temporaryPath, finalPath) }
        committed = true
        guard durable else { return }
        let (dir, _) = Self.split(finalPath)
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); Glibc.close(dfd) }
    }

    /// Removes the temporary file now.
    public func discard() {
        guard !committed else { return }
        committed = true
        unlink(temporaryPath)
    }

    deinit { discard() }

    /// 16 random hex digits for a temporary name (built by hand: `String(_:radix:)` goes
    /// through generic integer code the runtime resolves on first use, on every stage).
    static var randomSuffix: String {
        let digits = Array("0123456789abcdef".utf8)
        var value = UInt64.random(in: 0...UInt64.max)
        var text: [UInt8] = []
        for _ in 0..<16 {
            text.append(digits[Int(value & 0xF)])
            value >>= 4
        }
        return String(decoding: text, as: UTF8.self)
    }

    static func split(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        let dir = String(path[..<slash])
        return (dir.isEmpty ? "/" : dir, String(path[path.index(after: slash)...]))
    }
}

extension AtomicOutput {
    /// Writes `bytes` to `path` atomically (temporary file, fsync unless not `durable`, rename).
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644, durable: Bool = true) throws {
        let out = try AtomicOutput(finalPath: path, mode: mode)
        try out.file.write(bytes, at: 0)
        try out.commit(durable: durable)
    }
}
