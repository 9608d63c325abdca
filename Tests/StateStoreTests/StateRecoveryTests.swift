import Foundation
import Glibc
import GRDB
@testable import StateStore
import Testing
import TestSupport

/// The state database's files on disk: a damaged `state.db` is moved aside and replaced rather
/// than keeping the agent down, a locked one is never taken for damaged, and every file of it
/// is 0600 whatever the umask and whatever an older version left.
@Suite("state database files")
struct StateRecoveryTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let image = ImageRecord(id: "0123456789abcdef0123", path: "/mnt/share/images/a.vhdx", stagedAt: t0, state: .staged)

    /// A state directory holding a database with an image and 50 events, closed again.
    static func populated() throws -> String {
        let dir = TestEnvironment.makeTemporaryDirectory("state")
        do {
            let db = try StateDatabase.open(directory: dir)
            try db.saveImage(image, packages: [])
            for n in 0..<50 { try db.record(EventRecord(time: t0, kind: .staged, message: "event \(n) " + String(repeating: "x", count: 200))) }
        }
        return dir
    }

    static func mode(_ path: String) -> mode_t? { lstatus(path).map { $0.st_mode & 0o7777 } }

    /// Ways a file stops being a database: cut short (a disk full or a crash of the file
    /// system), emptied, overwritten with noise, or replaced by some other file.
    enum Damage: String, CaseIterable, CustomTestStringConvertible {
        case truncated, emptied, garbage, text
        var testDescription: String { rawValue }

        func apply(to path: String) throws {
            let length = try #require(lstatus(path)).st_size
            switch self {
            case .truncated: #expect(truncate(path, 8192) == 0 && length > 8192, "a database of \(length) bytes")
            case .emptied: #expect(truncate(path, 0) == 0)
            case .garbage: try Data((0..<Int(length)).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: path))
            case .text: try String(repeating: "this is not a database\n", count: 300).write(toFile: path, atomically: false, encoding: .utf8)
            }
        }
    }

    @Test("a damaged state.db is moved aside with its companions, and a new one is made", arguments: Damage.allCases)
    func damagedIsMovedAside(damage: Damage) throws {
        let dir = try Self.populated()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/state.db"
        try damage.apply(to: path)
        let damagedBytes = try Data(contentsOf: URL(fileURLWithPath: path))
        // What an interrupted agent leaves beside it.
        FileManager.default.createFile(atPath: path + "-shm", contents: Data(count: 32_768))
        if damage != .emptied {
            // What kept the agent down at every start (SQLite takes an empty file for a new one).
            #expect(throws: (any Error).self, "opened plainly, the file is refused") { _ = try StateDatabase.open(directory: dir) }
        }

        let now = Date(timeIntervalSince1970: 1_800_003_600)
        let (db, damaged) = try StateDatabase.openRecovering(directory: dir, now: now)
        let report = try #require(damaged, "\(damage) not noticed")
        let kept = dir + "/state.db.damaged-20270115T090000Z"
        #expect(report.keptPath == kept)
        if damage == .garbage || damage == .text {
            // Not a database at all: SQLite never used its index, which goes with it. (A
            // truncated one SQLite opened far enough to remove the index when it closed.)
            #expect(report.keptFiles == [kept, kept + "-shm"])
        }
        #expect(report.reason.contains(path), "\(report.reason)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: kept)) == damagedBytes, "kept as it was")
        // The new database works, empty, and a second start finds nothing wrong.
        #expect(try db.images().isEmpty)
        try db.saveImage(Self.image, packages: [])
        #expect(try StateDatabase.openRecovering(directory: dir).damaged == nil)
        for file in [path] + report.keptFiles { #expect(Self.mode(file) == 0o600, "\(file)") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("state.db-") }.allSatisfy {
            ["state.db-wal", "state.db-shm"].contains($0) }, "nothing of the damaged one is left beside the new one")
    }

    @Test("the newest three damaged copies are kept, older ones removed")
    func oldCopiesGo() throws {
        let dir = try Self.populated()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for hour in 0..<5 {
            try Damage.text.apply(to: dir + "/state.db")
            _ = try StateDatabase.openRecovering(directory: dir, now: Date(timeIntervalSince1970: 1_800_000_000 + Double(hour) * 3600))
        }
        let kept = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".damaged-") }.sorted()
        #expect(kept == ["state.db.damaged-20270115T100000Z", "state.db.damaged-20270115T110000Z", "state.db.damaged-20270115T120000Z"])
    }

    @Test("a database another process holds locked is an error, never taken for damaged",
          .enabled(if: TestEnvironment.hasTool("python3"), "needs python3 to hold the lock from another process"))
    func lockedIsNotDamaged() throws {
        let dir = try Self.populated()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Exclusive locking mode: in WAL mode the only lock that keeps other connections out.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["python3", "-c", """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute('PRAGMA locking_mode=EXCLUSIVE')
            c.execute('BEGIN EXCLUSIVE')
            c.execute('INSERT INTO events (time, kind, message) VALUES (?, ?, ?)', ('2027-01-15 08:00:00.000', 'staged', 'held'))
            print('locked', flush=True)
            time.sleep(60)
            """, dir + "/state.db"]
        let out = Pipe()
        holder.standardOutput = out
        try holder.run()
        defer { kill(holder.processIdentifier, SIGKILL); holder.waitUntilExit() }
        #expect(String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).hasPrefix("locked"))

        #expect(throws: DatabaseError.self) { _ = try StateDatabase.openRecovering(directory: dir) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { !$0.contains("damaged") })
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        let (db, damaged) = try StateDatabase.openRecovering(directory: dir)
        #expect(damaged == nil)
        #expect(try db.image(Self.image.id) == Self.image, "the rows are all there")
    }

    @Test("state.db, -wal, -shm and -journal are 0600: made so, and made so when an older version left them 0644")
    func filesArePrivate() throws {
        let dir = TestEnvironment.makeTemporaryDirectory("state")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/state.db"
        // An older agent's files: SQLite's default 0644 (as a umask of 022 leaves it), and
        // open in another connection, so the log and its index are there.
        var configuration = Configuration()
        configuration.journalMode = .wal
        let older = try DatabaseQueue(path: path, configuration: configuration)
        try older.write { db in try db.execute(sql: "CREATE TABLE t (x)") ; try db.execute(sql: "INSERT INTO t VALUES (1)") }
        FileManager.default.createFile(atPath: path + "-journal", contents: Data())
        for suffix in ["", "-wal", "-shm", "-journal"] { chmod(path + suffix, 0o644) }

        let db = try StateDatabase.open(directory: dir)
        try db.record(EventRecord(time: Self.t0, kind: .staged, message: "written"))
        for suffix in ["", "-wal", "-shm"] { #expect(Self.mode(path + suffix) == 0o600, "state.db\(suffix)") }
        if let journal = Self.mode(path + "-journal") { #expect(journal == 0o600) }
        _ = older

        // A database made now: SQLite gives the log and its index the database's mode.
        let fresh = TestEnvironment.makeTemporaryDirectory("state")
        defer { try? FileManager.default.removeItem(atPath: fresh) }
        let made = try StateDatabase.openRecovering(directory: fresh).database
        try made.record(EventRecord(time: Self.t0, kind: .staged, message: "written"))
        for suffix in ["", "-wal", "-shm"] { #expect(Self.mode(fresh + "/state.db" + suffix) == 0o600, "state.db\(suffix)") }
    }

    @Test("a symbolic link in place of state.db is refused, naming it")
    func linkRefused() throws {
        let dir = TestEnvironment.makeTemporaryDirectory("state")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        symlink("/etc/passwd", dir + "/state.db")
        #expect { _ = try StateDatabase.openRecovering(directory: dir) } throws: { error in
            "\(error)" == "cannot open \(dir)/state.db: it is a symbolic link"
        }
        #expect(Self.mode("/etc/passwd") == 0o644, "its target is untouched")
    }
}
