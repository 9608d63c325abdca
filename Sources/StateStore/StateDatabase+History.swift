import Foundation
import GRDB

/// A `before` cursor that names no event the caller may see: it never was, it was pruned
/// since, or it is another user's.
public struct UnknownEventCursor: Error, CustomStringConvertible, Equatable {
    public let id: Int64
    public init(id: Int64) { self.id = id }
    public var description: String {
        "no event \(id) in the history (pruned since, or never there): ask again without a cursor"
    }
}

extension StateDatabase {
    /// One page of the history, for paging through it newest page first: the `limit` newest
    /// events (of `uid` only, when given) that are older than event `before` (in the order
    /// `newestFirst` sets: time, then id), returned oldest first, and whether there are older
    /// ones still. Throws ``UnknownEventCursor`` when `before` names no event of `uid`.
    public func eventPage(limit: Int, before: Int64? = nil, uid: UInt32? = nil) throws -> (events: [EventRecord], more: Bool) {
        try writer.read { db in
            var request = EventRecord.all()
            if let uid { request = request.filter(EventRecord.Columns.uid == uid) }
            if let before {
                guard let cursor = try request.filter(EventRecord.Columns.id == before).fetchOne(db) else {
                    throw UnknownEventCursor(id: before)
                }
                request = request.filter(EventRecord.Columns.time < cursor.time
                    || (EventRecord.Columns.time == cursor.time && EventRecord.Columns.id < before))
            }
            let count = max(limit, 0)
            // One more than asked: whether older events remain, without a second query.
            let rows = try request.newestFirst().limit(count + 1).fetchAll(db)
            return (Array(rows.prefix(count).reversed()), rows.count > count)
        }
    }
}
