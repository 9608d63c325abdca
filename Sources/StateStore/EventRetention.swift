import Foundation
import GRDB
import Synchronization

/// How much history the `events` table keeps: nothing older than `maximumAge`, and no more
/// than the newest `maximumCount` events (newest by insertion). Any user can add events (a
/// registration request, a launch), so without a bound the table, and `state.db`, would grow
/// for as long as the host runs. From `[state] keep_events_days` and `keep_events`.
public struct EventRetention: Sendable, Equatable {
    /// Events older than this go.
    public var maximumAge: TimeInterval
    /// At most this many events stay.
    public var maximumCount: Int

    public init(days: Int, count: Int) {
        maximumAge = TimeInterval(days) * 86_400
        maximumCount = max(count, 0)
    }

    /// Inserts between two prunes: a tenth of the count (at least 1, at most 1000), so the table
    /// never holds much more than `maximumCount`, and a prune (a few milliseconds at 100,000
    /// events) is paid once per many inserts.
    var pruneEvery: Int { min(max(maximumCount / 10, 1), 1000) }
}

/// Prunes the events table inside the transactions that insert events: after `pruneEvery`
/// inserted events, or the first insert a day after the last prune (so old events go on a
/// quiet host too). The agent also prunes once at start (`StateDatabase.pruneEvents(_:)`).
final class EventPruner: Sendable {
    let retention: EventRetention
    private let state: Mutex<(inserted: Int, lastPrune: Date)>

    init(_ retention: EventRetention) {
        self.retention = retention
        state = Mutex((0, Date()))
    }

    /// Notes `count` events inserted in `db`'s transaction, and prunes there when due.
    func inserted(_ count: Int, _ db: Database, now: Date = Date()) throws {
        guard count > 0 else { return }
        let due = state.withLock { state -> Bool in
            state.inserted += count
            guard state.inserted >= retention.pruneEvery || now.timeIntervalSince(state.lastPrune) >= 86_400 else { return false }
            state = (0, now)
            return true
        }
        if due { try StateDatabase.prune(db, retention, now: now) }
    }
}

extension StateDatabase {
    /// Deletes the events older than `retention.maximumAge` and all but the newest
    /// `retention.maximumCount`. Returns how many were deleted.
    @discardableResult
    public func pruneEvents(_ retention: EventRetention, now: Date = Date()) throws -> Int {
        try writer.write { db in try Self.prune(db, retention, now: now) }
    }

    /// The prune, in `db`'s transaction. By age through the index on `time`; by count by
    /// insertion order (the primary key): the id `maximumCount` rows back from the newest is
    /// found by walking the key, so no list of kept ids is built.
    @discardableResult
    static func prune(_ db: Database, _ retention: EventRetention, now: Date) throws -> Int {
        let cutoff = now.addingTimeInterval(-retention.maximumAge)
        var deleted = try EventRecord.filter(EventRecord.Columns.time < cutoff).deleteAll(db)
        if let lastDropped = try Int64.fetchOne(db, sql: "SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?",
                                                arguments: [retention.maximumCount]) {
            deleted += try EventRecord.filter(EventRecord.Columns.id <= lastDropped).deleteAll(db)
        }
        return deleted
    }
}
