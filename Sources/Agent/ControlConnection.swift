import ControlProtocol
import Foundation
import LinuxSystem
import Systemd

/// One client's request as the event loop receives it: the line it sent, who sent it
/// (`SO_PEERCRED`), and the connection to answer on. Answering closes the connection.
final class ControlConnection: Sendable {
    let line: String
    let peer: UnixSocket.PeerCredentials
    /// When the request line had been read, in `JournalClock` microseconds.
    let receivedAt: UInt64
    private let socket: UnixSocket

    init(line: String, peer: UnixSocket.PeerCredentials, socket: UnixSocket,
         receivedAt: UInt64 = JournalClock.nowMicroseconds()) {
        self.line = line
        self.peer = peer
        self.socket = socket
        self.receivedAt = receivedAt
    }

    /// Sends a successful reply and closes. A client that went away is not an error.
    func reply<P: Codable & Sendable>(_ parameters: P) {
        send { try ControlCoding.line(ControlReply(parameters: parameters)) }
    }

    /// Sends an error reply and closes.
    func fail(_ name: ControlErrorName, _ message: String) {
        send { try ControlCoding.line(ControlErrorReply(name, message)) }
    }

    private func send(_ line: () throws -> String) {
        if let text = try? line() { try? socket.writeLine(text) }
        socket.close()
    }
}
