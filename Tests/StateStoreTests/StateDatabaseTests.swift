import Foundation
import GRDB
@testable import StateStore
import Testing
import TestSupport

@Suite("state database")
struct StateDatabaseTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let imageA = ImageRecord(id: "0123456789abcdef0123", path: "/mnt/share/images/a.vhdx",
                                    digest: String(repeating: "ab", count: 32), stagedAt: t0, state: .staged)
    static let imageB = ImageRecord(id: "fedcba9876543210fedc", path: "/mnt/share/images/b.erofs", stagedAt: t0, state: .staged)
    static let editor = "Contoso.Editor_2.1.0.0_x64__8wekyb3d8bbwe"
    static let viewer = "Contoso.Viewer_1.0.0.0_neutral__8wekyb3d8bbwe"
    static let tool = "Fabrikam.Tool_3.0.0.0_x64__8wekyb3d8bbwe"

    static func package(_ fullName: String, image: String) -> PackageRecord {
        let parts = fullName.split(separator: "_", omittingEmptySubsequences: false)
        return PackageRecord(fullName: fullName, familyName: "\(parts[0])_\(parts[4])", imageID: image,
                             mountPoint: "/run/appattach/packages/\(fullName)")
    }

    static func registration(_ uid: UInt32, _ package: String, mode: RegistrationRecord.Mode = .delayed) -> RegistrationRecord {
        RegistrationRecord(uid: uid, userName: "user\(uid)", packageFullName: package, mode: mode,
                           state: mode == .regular ? .complete : .partial, registeredAt: t0,
                           completedAt: mode == .regular ? t0 : nil)
    }

    /// Two images, three packages, registrations for users 1001 and 1002.
    static func populated() throws -> StateDatabase {
        let db = try StateDatabase.inMemory()
        try db.saveImage(imageA, packages: [package(editor, image: imageA.id), package(viewer, image: imageA.id)])
        try db.saveImage(imageB, packages: [package(tool, image: imageB.id)])
        try db.saveRegistration(registration(1001, editor))
        try db.saveRegistration(registration(1001, tool, mode: .regular))
        try db.saveRegistration(registration(1002, editor))
        return db
    }

    @Test("migrations: v1 creates the four tables, v2 the accounts, with their columns, and foreign keys are enforced")
    func schema() throws {
        let db = try StateDatabase.inMemory()
        #expect(try db.appliedMigrations() == ["v1", "v2"])
        let (columns, foreignKeys, enforced) = try db.reader.read { db in
            var columns: [String: [String]] = [:]
            for table in ["images", "packages", "registrations", "events", "accounts"] {
                columns[table] = try db.columns(in: table).map(\.name)
            }
            let foreignKeys = try ["packages", "registrations"].map { try db.foreignKeys(on: $0).map(\.destinationTable) }
            return (columns, foreignKeys, try Bool.fetchOne(db, sql: "PRAGMA foreign_keys"))
        }
        #expect(columns["images"] == ["id", "path", "digest", "staged_at", "state"])
        #expect(columns["packages"] == ["full_name", "family_name", "image_id", "mount_point"])
        #expect(columns["registrations"] == ["uid", "package_full_name", "user_name", "mode", "state", "registered_at", "completed_at"])
        #expect(columns["events"] == ["id", "time", "kind", "uid", "package", "image", "duration_usec", "message"])
        #expect(columns["accounts"] == ["uid", "user_name", "recorded_at", "missing_since"])
        #expect(foreignKeys == [["images"], ["packages"]])
        #expect(enforced == true)
    }

    @Test("a file database keeps its rows and is not migrated twice")
    func fileDatabase() throws {
        // A directory the database makes itself, in one of the test's own.
        let parent = TestEnvironment.makeTemporaryDirectory("state")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let dir = parent + "/state"
        do {
            let db = try StateDatabase.open(directory: dir)
            try db.saveImage(Self.imageA, packages: [])
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: dir)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o700)
        let reopened = try StateDatabase.open(directory: dir)
        #expect(try reopened.appliedMigrations() == ["v1", "v2"])
        #expect(try reopened.image(Self.imageA.id) == Self.imageA)
        #expect(FileManager.default.fileExists(atPath: dir + "/state.db"))
    }

    @Test("records round-trip, dates and optional columns included")
    func roundTrip() throws {
        let db = try Self.populated()
        #expect(try db.images() == [Self.imageA, Self.imageB])
        #expect(try db.packages(ofImage: Self.imageA.id).map(\.fullName) == [Self.editor, Self.viewer])
        #expect(try db.package(Self.tool)?.familyName == "Fabrikam.Tool_8wekyb3d8bbwe")
        #expect(try db.registrations(ofUID: 1001) == [Self.registration(1001, Self.editor),
                                                      Self.registration(1001, Self.tool, mode: .regular)])
    }

    @Test("registrations of a user, users of a package, users of an image")
    func queries() throws {
        let db = try Self.populated()
        #expect(try db.registrations(ofUID: 1002).map(\.packageFullName) == [Self.editor])
        #expect(try db.registrations(ofUID: 4242).isEmpty)
        #expect(try db.users(ofPackage: Self.editor) == [1001, 1002])
        #expect(try db.users(ofPackage: Self.viewer) == [])
        #expect(try db.users(ofImage: Self.imageA.id) == [1001, 1002])
        #expect(try db.users(ofImage: Self.imageB.id) == [1001])
        let partial = try db.reader.read { db in try RegistrationRecord.all().partial().fetchAll(db) }
        #expect(partial.map(\.uid) == [1001, 1002])
    }

    @Test("completing a delayed registration sets its state and time once")
    func complete() throws {
        let db = try Self.populated()
        let later = Self.t0.addingTimeInterval(90)
        #expect(try db.completeRegistration(uid: 1002, packageFullName: Self.editor, at: later))
        #expect(try db.completeRegistration(uid: 1002, packageFullName: Self.editor, at: later.addingTimeInterval(5)))
        let record = try #require(try db.registrations(ofUID: 1002).first)
        #expect(record.state == .complete)
        #expect(record.completedAt == later)
        #expect(try !db.completeRegistration(uid: 1003, packageFullName: Self.editor, at: later))
        #expect(try db.deleteRegistration(uid: 1002, packageFullName: Self.editor))
        #expect(try db.users(ofPackage: Self.editor) == [1001])
    }

    @Test("a database of the first version gets the accounts table and keeps its rows")
    func migratesFromV1() throws {
        let queue = try DatabaseQueue()
        try StateSchema.migrator.migrate(queue, upTo: "v1")
        try queue.write { db in
            try Self.imageA.insert(db)
            try Self.package(Self.editor, image: Self.imageA.id).insert(db)
            try Self.registration(1001, Self.editor).insert(db)
        }
        let db = try StateDatabase(queue)
        #expect(try db.appliedMigrations() == ["v1", "v2"])
        #expect(try db.registrations(ofUID: 1001) == [Self.registration(1001, Self.editor)])
        #expect(try db.accounts().isEmpty)
    }

    @Test("accounts: the owner is recorded, missing keeps the first time seen, forgetting takes the registrations and adds the events at once")
    func accounts() throws {
        let db = try Self.populated()
        #expect(try db.account(uid: 1001) == nil)
        try db.saveAccount(AccountRecord(uid: 1001, userName: "alice", recordedAt: Self.t0))
        #expect(try db.account(uid: 1001) == AccountRecord(uid: 1001, userName: "alice", recordedAt: Self.t0))

        // Seen missing: the first time stays, later sightings do not move it.
        let first = Self.t0.addingTimeInterval(3600)
        #expect(try db.markAccountMissing(uid: 1001, userName: "ignored", at: first).missingSince == first)
        let again = try db.markAccountMissing(uid: 1001, userName: "ignored", at: first.addingTimeInterval(86_400))
        #expect(again == AccountRecord(uid: 1001, userName: "alice", recordedAt: Self.t0, missingSince: first))
        // A uid with registrations but no row yet gets one under the name given.
        #expect(try db.markAccountMissing(uid: 1002, userName: "user1002", at: first)
                == AccountRecord(uid: 1002, userName: "user1002", recordedAt: first, missingSince: first))
        #expect(try db.accounts().map(\.uid) == [1001, 1002])

        let event = EventRecord(time: first, kind: .accountDataRemoved, uid: 1001, message: "removed")
        #expect(try db.forgetAccount(uid: 1001, events: [event]) == 2)
        #expect(try db.account(uid: 1001) == nil)
        #expect(try db.registrations(ofUID: 1001).isEmpty)
        #expect(try db.registrations(ofUID: 1002).count == 1, "another uid's rows stay")
        #expect(try db.lastEvents(10).map(\.kind) == [.accountDataRemoved])
        #expect(try db.forgetAccount(uid: 1001, events: []) == 0)
    }

    @Test("destaging an image removes its packages and their registrations (cascade)")
    func cascade() throws {
        let db = try Self.populated()
        #expect(try db.deleteImage(Self.imageA.id))
        #expect(try db.packages(ofImage: Self.imageA.id).isEmpty)
        #expect(try db.registrations(ofUID: 1002).isEmpty)
        #expect(try db.registrations(ofUID: 1001).map(\.packageFullName) == [Self.tool])
        #expect(try !db.deleteImage(Self.imageA.id))
    }

    @Test("restaging replaces the image's package list; state changes")
    func restage() throws {
        let db = try Self.populated()
        var image = Self.imageA
        image.state = .staging
        try db.saveImage(image, packages: [Self.package(Self.viewer, image: image.id)])
        #expect(try db.packages(ofImage: image.id).map(\.fullName) == [Self.viewer])
        // The editor's registrations went with the package.
        #expect(try db.users(ofPackage: Self.editor) == [])
        #expect(try db.setImageState(image.id, .destaging))
        #expect(try db.image(image.id)?.state == .destaging)
        #expect(try !db.setImageState("00000000000000000000", .failed))
    }

    @Test("the schema refuses what the types would never write")
    func constraints() throws {
        let db = try Self.populated()
        #expect(throws: DatabaseError.self) { try db.saveRegistration(Self.registration(1001, "Missing.Pkg_1.0.0.0_x64__8wekyb3d8bbwe")) }
        #expect(throws: DatabaseError.self) {
            try db.saveImage(Self.imageB, packages: [Self.package(Self.viewer, image: "nosuchimage000000000")])
        }
        // A failed transaction leaves nothing behind.
        #expect(try db.packages(ofImage: Self.imageB.id).map(\.fullName) == [Self.tool])
        let queue = try DatabaseQueue()
        _ = try StateDatabase(queue)
        #expect(throws: DatabaseError.self) {
            try queue.write { db in
                try db.execute(sql: "INSERT INTO images (id, path, staged_at, state) VALUES ('x', '/x', '2026-01-01', 'mounted')")
            }
        }
    }

    @Test("events: the last N, oldest first; by user; pruning keeps the newest")
    func events() throws {
        let db = try StateDatabase.inMemory()
        for n in 0..<10 {
            let event = try db.record(EventRecord(time: Self.t0.addingTimeInterval(Double(n)),
                                                  kind: n % 2 == 0 ? .registered : .staged,
                                                  uid: n % 2 == 0 ? 1001 : nil, package: Self.editor,
                                                  image: Self.imageA.id, durationUsec: Int64(n * 1000), message: "event \(n)"))
            #expect(event.id != nil)
        }
        #expect(try db.lastEvents(3).map(\.message) == ["event 7", "event 8", "event 9"])
        #expect(try db.lastEvents(2, uid: 1001).map(\.message) == ["event 6", "event 8"])
        #expect(try db.lastEvents(0).isEmpty)
        let last = try #require(try db.lastEvents(1).first)
        #expect(last.kind == .staged && last.durationUsec == 9000 && last.time == Self.t0.addingTimeInterval(9))
        #expect(try db.pruneEvents(keeping: 4) == 6)
        #expect(try db.lastEvents(100).map(\.message) == ["event 6", "event 7", "event 8", "event 9"])
        // Kinds are an open set: one this build does not name still reads back.
        try db.record(EventRecord(time: Self.t0, kind: EventRecord.Kind("future-kind"), message: "x"))
        #expect(try db.lastEvents(100).contains { $0.kind.rawValue == "future-kind" })
    }

    @Test("a sign-in's registrations and events in one transaction; a failing one writes none of them")
    func batchedRegistrations() throws {
        let db = try Self.populated()
        let events = [Self.editor, Self.viewer].map { EventRecord(time: Self.t0, kind: .registered, uid: 1003, package: $0, message: "r \($0)") }
        try db.saveRegistrations([Self.registration(1003, Self.editor), Self.registration(1003, Self.viewer)], events: events)
        #expect(try db.registrations(ofUID: 1003).map(\.packageFullName) == [Self.editor, Self.viewer])
        #expect(try db.lastEvents(10, uid: 1003).map(\.message) == events.map(\.message))

        // A package that is not staged violates the foreign key: nothing of the batch stays.
        #expect(throws: DatabaseError.self) {
            try db.saveRegistrations([Self.registration(1004, Self.editor), Self.registration(1004, "Missing.Pkg_1.0.0.0_x64__8wekyb3d8bbwe")],
                                     events: [EventRecord(time: Self.t0, kind: .registered, uid: 1004, message: "x")])
        }
        #expect(try db.registrations(ofUID: 1004).isEmpty)
        #expect(try db.lastEvents(10, uid: 1004).isEmpty)

        let deleted = try db.deleteRegistrations(uid: 1003, packageFullNames: [Self.editor, Self.viewer, Self.tool],
                                                 events: [EventRecord(time: Self.t0, kind: .deregistered, uid: 1003, message: "gone")])
        #expect(deleted == 2)
        #expect(try db.registrations(ofUID: 1003).isEmpty)
        #expect(try db.lastEvents(1, uid: 1003).map(\.message) == ["gone"])
    }
}
