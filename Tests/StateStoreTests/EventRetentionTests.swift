import Foundation
import GRDB
@testable import StateStore
import Testing
import TestSupport

/// The events table stays within `[state] keep_events_days` and `keep_events`, however many
/// events come: pruned at start, and as events are inserted.
@Suite("event retention")
struct EventRetentionTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let day: TimeInterval = 86_400

    static func count(_ db: StateDatabase) throws -> Int {
        try db.reader.read { db in try EventRecord.fetchCount(db) }
    }

    @Test("a prune keeps the newest N and drops those older than the age")
    func prune() throws {
        let db = try StateDatabase.inMemory()
        // Forty days of history, one event a day, oldest first.
        for age in stride(from: 39, through: 0, by: -1) {
            try db.record(EventRecord(time: Self.now.addingTimeInterval(-Double(age) * Self.day), kind: .staged, message: "\(age) days old"))
        }
        #expect(try db.pruneEvents(EventRetention(days: 30, count: 100), now: Self.now) == 9, "older than 30 days")
        #expect(try db.lastEvents(100).first?.message == "30 days old")
        #expect(try db.pruneEvents(EventRetention(days: 30, count: 5), now: Self.now) == 26, "beyond the newest 5")
        #expect(try db.lastEvents(100).map(\.message) == ["4 days old", "3 days old", "2 days old", "1 days old", "0 days old"])
        #expect(try db.pruneEvents(EventRetention(days: 30, count: 5), now: Self.now) == 0, "nothing more to do")
    }

    @Test("inserting events keeps the table near its bound, newest kept, in every kind of write")
    func prunedAsEventsCome() throws {
        let retention = EventRetention(days: 30, count: 1_000)
        let db = try StateDatabase(DatabaseQueue(), eventRetention: retention)
        try db.saveImage(ImageRecord(id: "0123456789abcdef0123", path: "/i", stagedAt: Self.now, state: .staged),
                         packages: [PackageRecord(fullName: "A.B_1.0.0.0_x64__8wekyb3d8bbwe", familyName: "A.B_8wekyb3d8bbwe",
                                                  imageID: "0123456789abcdef0123", mountPoint: "/p")])
        var largest = 0
        for n in 0..<1_000 {
            // What a user can cause over and over: a registration and a deregistration, each
            // with its events, and single events.
            let events = (0..<3).map { EventRecord(time: Date(), kind: .registered, uid: 1000, message: "event \(n).\($0)") }
            try db.saveRegistrations([RegistrationRecord(uid: 1000, userName: "u", packageFullName: "A.B_1.0.0.0_x64__8wekyb3d8bbwe",
                                                         mode: .delayed, state: .partial, registeredAt: Self.now)], events: events)
            try db.deleteRegistrations(uid: 1000, packageFullNames: ["A.B_1.0.0.0_x64__8wekyb3d8bbwe"],
                                       events: [EventRecord(time: Date(), kind: .deregistered, uid: 1000, message: "gone \(n)")])
            try db.record(EventRecord(time: Date(), kind: .staged, message: "single \(n)"))
            largest = max(largest, try Self.count(db))
        }
        // 5,000 events written; at most the bound and one pruning step more ever stored.
        #expect(largest <= 1_000 + retention.pruneEvery + 4, "largest \(largest)")
        #expect(try db.lastEvents(1).first?.message == "single 999", "the newest stays")
        #expect(try db.lastEvents(2_000).first.map { $0.message != "event 0.0" } == true, "the oldest went")
    }

    @Test("an old event goes on a quiet host at the first insert a day after the last prune")
    func agePrunedDaily() throws {
        let db = try StateDatabase(DatabaseQueue(), eventRetention: EventRetention(days: 2, count: 100_000))
        let start = Date()
        try db.record(EventRecord(time: start.addingTimeInterval(-3 * Self.day), kind: .staged, message: "old"))
        #expect(try Self.count(db) == 1, "one insert is not a reason to prune")
        let pruner = try #require(db.pruner)
        try db.writer.write { db in
            var new = EventRecord(time: start, kind: .staged, message: "new")
            try new.insert(db)
            // As if the agent had been running for a day and a half since it last pruned.
            try pruner.inserted(1, db, now: start.addingTimeInterval(1.5 * Self.day))
        }
        #expect(try db.lastEvents(10).map(\.message) == ["new"])
    }
}
