import Foundation
import GRDB

/// The agent's state: staged images, their packages, registrations per user, and events,
/// in `<state_directory>/state.db`.
///
/// Only the agent opens the file, once, through one `DatabaseQueue` (other processes ask the
/// agent). Every method is one transaction. Opening migrates the schema to the current version.
public struct StateDatabase: Sendable {
    let writer: any DatabaseWriter
    /// Keeps the events table within its `EventRetention`, as events are inserted; nil keeps all.
    let pruner: EventPruner?

    /// Wraps `writer` (a queue on a file, or in memory for tests) and migrates it. With
    /// `eventRetention`, old events are pruned as new ones come (`EventRetention`).
    public init(_ writer: any DatabaseWriter, eventRetention: EventRetention? = nil) throws {
        self.writer = writer
        pruner = eventRetention.map(EventPruner.init)
        try StateSchema.migrator.migrate(writer)
    }

    /// The file name inside the state directory.
    public static let fileName = "state.db"

    /// Opens (creating if needed) `<directory>/state.db`. The directory is created readable by
    /// root only, and the database's files (`state.db`, `-wal`, `-shm`, `-journal`) are 0600:
    /// registrations reveal who uses which app. A damaged file is an error here; the agent
    /// opens it with `openRecovering`, which moves it aside.
    public static func open(directory: String, eventRetention: EventRetention? = nil) throws -> StateDatabase {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let path = directory + "/" + fileName
        _ = try StateFiles.restrict(path)
        let database = try StateDatabase(DatabaseQueue(path: path, configuration: configuration), eventRetention: eventRetention)
        // SQLite made `-wal` and `-shm` as it opened, with the mode of `state.db`: checked.
        _ = try StateFiles.restrict(path)
        return database
    }

    /// How the agent's connection is set up.
    static var configuration: Configuration {
        var configuration = Configuration()
        // Foreign keys are what make destaging an image drop its packages and registrations.
        configuration.foreignKeysEnabled = true
        // Write-ahead log, synced at checkpoints rather than at every commit: a commit in the
        // default rollback journal costs two fsyncs (10-30 ms on a busy disk), and a storm of
        // sign-ins commits once per user. The file stays consistent after a crash or power
        // loss; at worst the last commits are lost, which the agent's start-up reconciliation
        // (registrations of users who are gone, files found by their prefix) already covers.
        configuration.journalMode = .wal
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        return configuration
    }

    /// A private database in memory, for tests.
    public static func inMemory() throws -> StateDatabase {
        try StateDatabase(DatabaseQueue())
    }

    /// The names of the migrations applied, oldest first.
    public func appliedMigrations() throws -> [String] {
        try writer.read { db in try StateSchema.migrator.appliedMigrations(db) }
    }

    /// Read-only access for queries this type does not offer.
    public var reader: any DatabaseReader { writer }
}

// MARK: - Images and packages

extension StateDatabase {
    /// Records a staged image and the packages exposed from it, replacing an older record of the
    /// same image (restaging is idempotent). Packages of the image not in `packages` are removed.
    public func saveImage(_ image: ImageRecord, packages: [PackageRecord]) throws {
        try writer.write { db in
            try image.upsert(db)
            let keep = packages.map(\.fullName)
            try PackageRecord.all().filter(imageID: image.id)
                .filter(!keep.contains(PackageRecord.Columns.fullName)).deleteAll(db)
            for package in packages { try package.upsert(db) }
        }
    }

    /// Sets the state of image `id`; returns false if there is no such image.
    @discardableResult
    public func setImageState(_ id: String, _ state: ImageRecord.State) throws -> Bool {
        try writer.write { db in
            try ImageRecord.filter(key: id).updateAll(db, ImageRecord.Columns.state.set(to: state.rawValue)) > 0
        }
    }

    /// Forgets image `id` after destaging; its packages and their registrations go with it.
    @discardableResult
    public func deleteImage(_ id: String) throws -> Bool {
        try writer.write { db in try ImageRecord.deleteOne(db, key: id) }
    }

    public func image(_ id: String) throws -> ImageRecord? {
        try writer.read { db in try ImageRecord.fetchOne(db, key: id) }
    }

    public func images() throws -> [ImageRecord] {
        try writer.read { db in try ImageRecord.order(ImageRecord.Columns.id).fetchAll(db) }
    }

    public func packages(ofImage id: String) throws -> [PackageRecord] {
        try writer.read { db in
            try PackageRecord.all().filter(imageID: id).order(PackageRecord.Columns.fullName).fetchAll(db)
        }
    }

    public func package(_ fullName: String) throws -> PackageRecord? {
        try writer.read { db in try PackageRecord.fetchOne(db, key: fullName) }
    }
}

// MARK: - Registrations

extension StateDatabase {
    /// Records (or replaces) the registration of a package for a user.
    public func saveRegistration(_ registration: RegistrationRecord) throws {
        try writer.write { db in try registration.upsert(db) }
    }

    /// Records (or replaces) a user's registrations and appends their events, in one
    /// transaction: a sign-in with ten packages costs one commit (one pair of fsyncs), not twenty.
    public func saveRegistrations(_ registrations: [RegistrationRecord], events: [EventRecord]) throws {
        try writer.write { db in
            for registration in registrations { try registration.upsert(db) }
            for var event in events { try event.insert(db) }
            try pruner?.inserted(events.count, db)
        }
    }

    /// Forgets a user's registrations of `packageFullNames` and appends their events, in one
    /// transaction. Returns how many registrations were deleted.
    @discardableResult
    public func deleteRegistrations(uid: UInt32, packageFullNames: [String], events: [EventRecord]) throws -> Int {
        try writer.write { db in
            var deleted = 0
            for name in packageFullNames where try RegistrationRecord.deleteOne(db, key: ["uid": uid, "package_full_name": name]) {
                deleted += 1
            }
            for var event in events { try event.insert(db) }
            try pruner?.inserted(events.count, db)
            return deleted
        }
    }

    /// Marks a partial registration complete (the first launch finished it). Returns false if
    /// the user has no registration of that package.
    @discardableResult
    public func completeRegistration(uid: UInt32, packageFullName: String, at time: Date) throws -> Bool {
        try writer.write { db in
            guard var registration = try RegistrationRecord.fetchOne(db, key: ["uid": uid, "package_full_name": packageFullName])
            else { return false }
            registration.state = .complete
            registration.completedAt = registration.completedAt ?? time
            try registration.update(db)
            return true
        }
    }

    /// Forgets a registration after deregistration.
    @discardableResult
    public func deleteRegistration(uid: UInt32, packageFullName: String) throws -> Bool {
        try writer.write { db in
            try RegistrationRecord.deleteOne(db, key: ["uid": uid, "package_full_name": packageFullName])
        }
    }

    /// The registrations of user `uid`, by package.
    public func registrations(ofUID uid: UInt32) throws -> [RegistrationRecord] {
        try writer.read { db in try RegistrationRecord.all().filter(uid: uid).fetchAll(db) }
    }

    /// Every registration, in one read (the status of a host with thousands of packages).
    public func allRegistrations() throws -> [RegistrationRecord] {
        try writer.read { db in try RegistrationRecord.fetchAll(db) }
    }

    /// The registrations of package `fullName` (its users), by uid. Empty means the package may
    /// be destaged as far as registrations go.
    public func registrations(ofPackage fullName: String) throws -> [RegistrationRecord] {
        try writer.read { db in try RegistrationRecord.all().filter(packageFullName: fullName).fetchAll(db) }
    }

    /// Every uid with at least one registration, ascending: what the agent checks against
    /// the users signed in when it starts, to clean up after a crash.
    public func registeredUIDs() throws -> [UInt32] {
        try writer.read { db in
            try UInt32.fetchAll(db, RegistrationRecord.select(RegistrationRecord.Columns.uid).distinct()
                .order(RegistrationRecord.Columns.uid))
        }
    }

    /// The uids that have package `fullName` registered.
    public func users(ofPackage fullName: String) throws -> [UInt32] {
        try registrations(ofPackage: fullName).map(\.uid)
    }

    /// The users with any package of image `id` registered, which keep the image staged.
    public func users(ofImage id: String) throws -> [UInt32] {
        try writer.read { db in
            let packages = PackageRecord.all().filter(imageID: id).select(PackageRecord.Columns.fullName)
            return try UInt32.fetchAll(db, RegistrationRecord
                .filter(packages.contains(RegistrationRecord.Columns.packageFullName))
                .select(RegistrationRecord.Columns.uid).distinct().order(RegistrationRecord.Columns.uid))
        }
    }
}

// MARK: - Events

extension StateDatabase {
    /// Appends an event and returns it with its id.
    @discardableResult
    public func record(_ event: EventRecord) throws -> EventRecord {
        try writer.write { db in
            var event = event
            try event.insert(db)
            try pruner?.inserted(1, db)
            return event
        }
    }

    /// The last `count` events, oldest first (as `journalctl -n` shows them).
    public func lastEvents(_ count: Int, uid: UInt32? = nil) throws -> [EventRecord] {
        try writer.read { db in
            var request = EventRecord.all()
            if let uid { request = request.filter(EventRecord.Columns.uid == uid) }
            return try request.newestFirst().limit(max(count, 0)).fetchAll(db).reversed()
        }
    }

    /// Deletes all but the newest `count` events, so the history stays bounded on hosts that
    /// run for months. Returns how many were deleted.
    @discardableResult
    public func pruneEvents(keeping count: Int) throws -> Int {
        try writer.write { db in
            let keep = EventRecord.all().newestFirst().limit(max(count, 0)).select(EventRecord.Columns.id)
            return try EventRecord.filter(!keep.contains(EventRecord.Columns.id)).deleteAll(db)
        }
    }
}
