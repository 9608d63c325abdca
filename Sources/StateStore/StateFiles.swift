import Foundation

/// Why the state database's files could not be opened or set aside; names the file.
public struct StateDatabaseError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The files of `state.db` on disk: the database and what SQLite keeps beside it.
enum StateFiles {
    /// What SQLite puts beside the database: the write-ahead log, its shared-memory index, and
    /// the rollback journal (used while the journal mode is changed).
    static let companionSuffixes = ["-wal", "-shm", "-journal"]

    /// Makes `path` (created empty when missing) and its companions 0600 and root's alone.
    /// SQLite gives the `-wal`, `-shm` and `-journal` it makes the mode of the database file, so
    /// a database that is 0600 before SQLite opens it never has a readable companion. Returns
    /// true when `path` was created now. A link or anything but a regular file is refused.
    @discardableResult
    static func restrict(_ path: String) throws -> Bool {
        var created = false
        let made = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if made >= 0 {
            created = true
            close(made)
        } else if errno != EEXIST {
            throw StateDatabaseError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        for file in [path] + companionSuffixes.map({ path + $0 }) {
            let fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
            if fd < 0 {
                if errno == ENOENT { continue }
                let reason = errno == ELOOP ? "it is a symbolic link" : String(cString: strerror(errno))
                throw StateDatabaseError("cannot open \(file): \(reason)")
            }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw StateDatabaseError("cannot stat \(file): \(String(cString: strerror(errno)))") }
            guard st.st_mode & S_IFMT == S_IFREG else { throw StateDatabaseError("\(file) is not a regular file") }
            if st.st_mode & 0o7777 != 0o600 || st.st_uid != geteuid(), fchown(fd, geteuid(), getegid()) != 0 || fchmod(fd, 0o600) != 0 {
                throw StateDatabaseError("cannot make \(file) private (0600): \(String(cString: strerror(errno)))")
            }
        }
        return created
    }

    /// The size of `path`, nil when it does not exist.
    static func size(_ path: String) -> Int? {
        var st = stat()
        return lstat(path, &st) == 0 ? Int(st.st_size) : nil
    }

    /// Renames `path` and its companions to `<path>.damaged-<UTC time>` (`-wal` etc. after it,
    /// so that `sqlite3` opens the kept copy with its log), and removes the oldest kept sets
    /// beyond `keep`. Returns the new names, the database's first.
    static func moveAside(_ path: String, at time: Date, keep: Int = 3) throws -> [String] {
        let directory = (path as NSString).deletingLastPathComponent
        let stamp = Self.stamp(time)
        var base = "\(path).damaged-\(stamp)"
        var attempt = 1
        while ([""] + companionSuffixes).contains(where: { size(base + $0) != nil }) {
            attempt += 1
            base = "\(path).damaged-\(stamp)-\(attempt)"
        }
        var kept: [String] = []
        for suffix in [""] + companionSuffixes where size(path + suffix) != nil {
            guard rename(path + suffix, base + suffix) == 0 else {
                throw StateDatabaseError("cannot move the damaged \(path + suffix) aside to \(base + suffix): \(String(cString: strerror(errno)))")
            }
            kept.append(base + suffix)
        }
        // Renames last only once synced: the new, empty database must not appear before them.
        let dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 { fsync(dir); close(dir) }
        removeOldSets(of: path, keeping: keep)
        return kept
    }

    /// `20260107T101500Z`: sorts as it reads, and is a file name anywhere.
    static func stamp(_ time: Date) -> String {
        var seconds = time_t(time.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
    }

    /// Keeps the newest `keep` sets of `<path>.damaged-*`: a disk that damages the database
    /// at every start must not fill up with copies.
    static func removeOldSets(of path: String, keeping keep: Int) {
        let directory = (path as NSString).deletingLastPathComponent
        let prefix = (path as NSString).lastPathComponent + ".damaged-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        let files = names.filter { $0.hasPrefix(prefix) }
        let bases = Set(files.map { name in companionSuffixes.first(where: name.hasSuffix).map { String(name.dropLast($0.count)) } ?? name })
        for old in bases.sorted().dropLast(keep) {
            for suffix in [""] + companionSuffixes { unlink(directory + "/" + old + suffix) }
        }
    }
}
