import Foundation
import Logging
import StateStore
import Systemd

/// Writes what the agent does to the journal (with the event's `MESSAGE_ID` and the
/// `APPATTACH_*` fields) and, for the kinds `appattachctl history` shows, to the state database.
struct AgentJournal {
    let logger: Logger
    let database: StateDatabase
    /// Counts the events for the metrics file.
    let metrics = AgentMetrics()

    /// The fields an event may carry; nil ones are left out.
    struct Fields {
        var user: String?
        var uid: UInt32?
        var package: String?
        var image: String?
        var session: String?
        var mode: String?
        var duration: Duration?
        var extra: Logger.Metadata = [:]
    }

    /// Logs `message` as `event`, and records it as `kind` when given. A failing database
    /// write is logged, never fatal: the journal entry is the primary record.
    func event(_ event: AgentEvent, _ message: String, level: Logger.Level = .notice,
               record kind: EventRecord.Kind? = nil, _ fields: Fields = Fields(), error: (any Error)? = nil) {
        var metadata = fields.extra
        if let user = fields.user { metadata["appattach.user"] = .string(user) }
        if let uid = fields.uid { metadata["appattach.uid"] = .stringConvertible(uid) }
        if let package = fields.package { metadata["appattach.package"] = .string(package) }
        if let image = fields.image { metadata["appattach.image"] = .string(image) }
        if let session = fields.session { metadata["appattach.session"] = .string(session) }
        if let mode = fields.mode { metadata["appattach.mode"] = .string(mode) }
        if let duration = fields.duration { metadata["appattach.duration_usec"] = .stringConvertible(Self.microseconds(duration)) }
        logger.log(level: level, "\(message)", error: error, metadata: event.metadata(metadata))
        metrics.count(event, duration: fields.duration, bytes: fields.extra["appattach.size_bytes"].flatMap { Int("\($0)") })
        guard let kind else { return }
        do {
            try database.record(historyRecord(kind, message, fields))
        } catch {
            logger.error("cannot record the event in the state database", error: error)
        }
    }

    /// The history row of an event, for callers that write it in one transaction with other
    /// rows (`StateDatabase.saveRegistrations`) and then log the event without `record`.
    func historyRecord(_ kind: EventRecord.Kind, _ message: String, _ fields: Fields) -> EventRecord {
        EventRecord(time: Date(), kind: kind, uid: fields.uid, package: fields.package, image: fields.image,
                    durationUsec: fields.duration.map(Self.microseconds), message: message)
    }

    static func microseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
