import Glibc
import HostPool

/// The host-pool file on the share and the definition in force: the last one that read
/// without error. A bad file is reported once per change and never replaces a good one.
struct HostPoolSource {
    /// What identifies a version of the file without reading it: a change of either means
    /// "read again". Modification time alone misses two saves within one timestamp tick.
    struct Version: Equatable {
        var modified: timespec
        var size: Int
        static func == (a: Version, b: Version) -> Bool {
            a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec && a.size == b.size
        }
    }

    /// What a check found.
    enum Change {
        /// Nothing new.
        case unchanged
        /// A new definition is in force; `previous` is the one it replaced (nil at the first load).
        case loaded(previous: HostPoolDefinition?)
        /// The file changed but cannot be used; the error names file and line.
        case rejected(ConfigurationError)
    }

    let share: String
    let pool: String
    private(set) var definition: HostPoolDefinition?
    /// The definition in force, indexed for sign-ins and gates (made once per load).
    private(set) var index: HostPoolIndex?
    /// Why the file on the share is not the one in force, while that is so.
    private(set) var problem: ConfigurationError?
    private var version: Version?
    /// The version of the file in force, and when it was applied.
    private(set) var applied: (version: Version, at: ContinuousClock.Instant, wallClock: timespec)?

    init(share: String, pool: String) {
        self.share = share
        self.pool = pool
    }

    /// The file as admins name it (relative to the share).
    var displayName: String { HostPoolDefinition.relativePath(pool: pool) }
    var path: String { HostPoolDefinition.path(share: share, pool: pool) }

    /// What one look at the share found: made anywhere by `reader()` (it touches only the
    /// share, which may be slow or away), applied to the source by `apply` on the loop.
    struct Read: @unchecked Sendable {
        /// The file's version as the look saw it; nil when it could not be seen.
        var version: Version?
        /// Nothing to apply: unchanged since the last read, or still not there.
        var outcome: Result<(HostPoolDefinition, HostPoolIndex), ConfigurationError>?
    }

    /// A look at the file that reads it if it changed since the last one applied (or was never
    /// read, or could not be read), and indexes what it read. Holds a copy of what it needs.
    func reader() -> @Sendable () -> Read {
        let path = path, share = share, pool = pool, known = version, hasProblem = problem != nil
        return {
            var st = stat()
            let current: Version? = stat(path, &st) == 0 ? Version(modified: st.st_mtim, size: Int(st.st_size)) : nil
            if let current, current == known { return Read(version: current, outcome: nil) }
            if current == nil, known == nil, hasProblem { return Read(version: nil, outcome: nil) }
            do throws(ConfigurationError) {
                let loaded = try HostPoolDefinition.load(share: share, pool: pool)
                return Read(version: current, outcome: .success((loaded, HostPoolIndex(loaded))))
            } catch {
                return Read(version: current, outcome: .failure(error))
            }
        }
    }

    /// Takes what `read` found: a new definition in force, or a problem reported once.
    mutating func apply(_ read: Read) -> Change {
        guard let outcome = read.outcome else { return .unchanged }
        version = read.version
        switch outcome {
        case .success(let (loaded, index)):
            let previous = definition
            definition = loaded
            self.index = index
            problem = nil
            if let current = read.version {
                var now = timespec()
                clock_gettime(CLOCK_REALTIME, &now)
                applied = (current, .now, now)
            }
            return .loaded(previous: previous)
        case .failure(let error):
            // A file that could not be read is tried again at the next check, unchanged or
            // not (a share that went away for a moment, a replace in flight); one that was read
            // and refused waits for a change. The same failure again is not news.
            let repeated = problem == error
            problem = error
            if error.unreadable { version = nil }
            return repeated ? .unchanged : .rejected(error)
        }
    }

    /// Reads the file if it changed since the last check (or was never read), here and now.
    mutating func check() -> Change {
        apply(reader()())
    }
}
