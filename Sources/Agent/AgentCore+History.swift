import ControlProtocol
import StateStore

extension AgentCore {
    /// How many bytes of events one `History` reply carries at most: a page of long events
    /// holds fewer than asked, and its `next` goes on from there. Well under the socket's
    /// reply cap (``ControlLimits/maxReplyBytes``).
    static let historyPageBytes = 1 << 20

    /// `History`: one page, newest first from `before` (or from now), of the caller's events
    /// (root: everyone's), at most `HistoryParameters.maximumLimit` of them and
    /// ``historyPageBytes`` of JSON, oldest first in the reply; `next` when older ones remain.
    func history(_ parameters: HistoryParameters, _ connection: ControlConnection) throws {
        let limit = min(max(parameters.limit ?? HistoryParameters.defaultLimit, 0), HistoryParameters.maximumLimit)
        let uid = connection.peer.uid
        let page: (events: [EventRecord], more: Bool)
        do {
            page = try database.eventPage(limit: limit, before: parameters.before, uid: uid == 0 ? nil : uid)
        } catch let error as UnknownEventCursor {
            throw AgentRequestError(name: .invalidParameter, description: "\(error)")
        }
        var events = page.events.map {
            HistoryReply.Event(id: $0.id, time: $0.time, kind: $0.kind.rawValue, uid: $0.uid, package: $0.package, image: $0.image,
                               durationUsec: $0.durationUsec, message: $0.message)
        }
        var more = page.more
        // Newest first into the budget; what does not fit is the next page's.
        let encoder = ControlCoding.encoder()
        var bytes = 0
        var kept = 0
        for event in events.reversed() {
            bytes += ((try? encoder.encode(event).count) ?? 0) + 1
            if bytes > Self.historyPageBytes && kept > 0 { break }
            kept += 1
        }
        if kept < events.count {
            events.removeFirst(events.count - kept)
            more = true
        }
        connection.reply(HistoryReply(events: events, next: more ? events.first?.id : nil))
    }
}
