import ControlProtocol
import Foundation
import LinuxSystem
import Synchronization
import Systemd

/// One client's request as the event loop receives it: the line it sent, who sent it
/// (`SO_PEERCRED`), and the way to answer. Answering never blocks the loop: the reply is
/// handed to the control socket's I/O thread, which writes it as the client reads and drops
/// a client that does not take it in time. A connection answers once; a second answer is
/// ignored, and one dropped unanswered is closed.
public final class ControlConnection: Sendable {
    public let line: String
    public let peer: UnixSocket.PeerCredentials
    /// When the request line had been read, in `JournalClock` microseconds.
    public let receivedAt: UInt64
    private let id: UInt64
    private let outbox: ControlOutbox
    private let answered = Atomic<Bool>(false)

    init(line: String, peer: UnixSocket.PeerCredentials, id: UInt64, outbox: ControlOutbox,
         receivedAt: UInt64 = JournalClock.nowMicroseconds()) {
        self.line = line
        self.peer = peer
        self.id = id
        self.outbox = outbox
        self.receivedAt = receivedAt
    }

    deinit {
        if !answered.load(ordering: .acquiring) { outbox.abandon(id) }
    }

    /// Sends a successful reply and closes. A client that went away is not an error.
    public func reply<P: Codable & Sendable>(_ parameters: P) {
        send { try ControlCoding.line(ControlReply(parameters: parameters)) }
    }

    /// Sends an error reply and closes.
    public func fail(_ name: ControlErrorName, _ message: String) {
        send { try ControlCoding.line(ControlErrorReply(name, message)) }
    }

    private func send(_ line: () throws -> String) {
        guard !answered.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var text: String
        do { text = try line() } catch {
            text = Self.errorLine(.failed, "the appattach agent cannot encode its reply: \(error)")
        }
        if text.utf8.count + 1 > outbox.maxReplyBytes {
            text = Self.errorLine(.failed, "the reply would be \(text.utf8.count + 1) bytes, more than the \(outbox.maxReplyBytes) a reply may have; ask for less")
        }
        outbox.post(id, Array(text.utf8) + [0x0A])
    }

    /// An error reply line; an encoder failure cannot happen for two strings.
    static func errorLine(_ name: ControlErrorName, _ message: String) -> String {
        (try? ControlCoding.line(ControlErrorReply(name, message))) ?? #"{"error":"\#(name.rawValue)"}"#
    }
}
