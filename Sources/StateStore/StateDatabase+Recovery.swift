import Foundation
import GRDB

/// A `state.db` that could not be used and was moved aside: why, and where it went.
public struct DamagedStateDatabase: Sendable, Equatable, CustomStringConvertible {
    /// What was wrong, naming the file: SQLite's error, or what its integrity check found.
    public let reason: String
    /// The kept files: `state.db.damaged-<UTC time>` first, then its `-wal`, `-shm`, `-journal`.
    public let keptFiles: [String]

    public init(reason: String, keptFiles: [String]) {
        self.reason = reason
        self.keptFiles = keptFiles
    }

    /// Where the damaged database went.
    public var keptPath: String { keptFiles.first ?? "" }

    public var description: String { reason }
}

extension StateDatabase {
    /// Opens `<directory>/state.db` as the agent does at every start, so that a damaged file
    /// cannot keep the agent, and the host's apps, down: a database that is not one (garbage,
    /// another file), one cut short, one whose pages or schema are broken is moved aside
    /// (`DamagedStateDatabase.keptFiles`) and a new, empty one is made; the caller fills it
    /// again from what the host shows. Errors that say nothing about the file's contents
    /// (another process holds it locked, a full or read-only disk, permissions) are thrown as
    /// they are: setting a good database aside for them would lose it.
    ///
    /// Checked before use: a file that exists but is shorter than the smallest SQLite page
    /// (512 bytes; SQLite would take a truncated, empty file for a new database and the
    /// registrations would be gone without a word), SQLite's `quick_check`, and the tables.
    public static func openRecovering(directory: String, eventRetention: EventRetention? = nil,
                                      now: Date = Date()) throws -> (database: StateDatabase, damaged: DamagedStateDatabase?) {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let path = directory + "/" + fileName
        do {
            return (try openChecked(path, eventRetention: eventRetention), nil)
        } catch let damage as Damage {
            let kept = try StateFiles.moveAside(path, at: now)
            do {
                let database = try openChecked(path, eventRetention: eventRetention)
                return (database, DamagedStateDatabase(reason: damage.reason, keptFiles: kept))
            } catch let again as Damage {
                throw StateDatabaseError("\(path): a new database is damaged as soon as it is made (\(again.reason)); the old one is at \(kept.first ?? "?")")
            }
        }
    }

    /// A file whose contents are no usable state database.
    struct Damage: Error {
        var reason: String
    }

    /// SQLite's verdicts on a file's contents, as opposed to on the host.
    static let damageCodes: [ResultCode] = [.SQLITE_CORRUPT, .SQLITE_NOTADB, .SQLITE_FORMAT]

    /// The tables a usable database has (the schema's, as migrated).
    static let tables = ["images", "packages", "registrations", "events", "accounts"]

    /// Opens `path`, migrates and checks it. Throws `Damage` for a damaged file.
    static func openChecked(_ path: String, eventRetention: EventRetention?) throws -> StateDatabase {
        let created = try StateFiles.restrict(path)
        if !created, let size = StateFiles.size(path), size < 512 {
            throw Damage(reason: "\(path) is \(size) bytes long, shorter than any SQLite database: cut short")
        }
        var migrating = false
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            migrating = true
            let database = try StateDatabase(queue, eventRetention: eventRetention)
            try database.check(path)
            // SQLite made `-wal` and `-shm` as it opened, with the mode of `state.db`: checked.
            try StateFiles.restrict(path)
            return database
        } catch let error as DatabaseError where damageCodes.contains(error.resultCode)
                    || (migrating && error.resultCode == .SQLITE_ERROR) {
            // SQLITE_ERROR while migrating or checking: a schema this agent did not make
            // ("table images already exists" with no record of the migration).
            throw Damage(reason: "\(path): \(error.message ?? "\(error.resultCode)")")
        }
    }

    /// SQLite's `quick_check` (every page and index entry read once: tens of milliseconds for
    /// a database at its event bound) and the schema's tables.
    func check(_ path: String) throws {
        let (problems, missing) = try writer.read { db in
            (try String.fetchAll(db, sql: "PRAGMA quick_check(5)"), try Self.tables.filter { try !db.tableExists($0) })
        }
        if problems != ["ok"] { throw Damage(reason: "\(path): integrity check failed: \(problems.joined(separator: "; "))") }
        if !missing.isEmpty { throw Damage(reason: "\(path): table \(missing.joined(separator: ", ")) missing") }
    }
}
