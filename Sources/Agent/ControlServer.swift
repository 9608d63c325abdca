import ControlProtocol
import Foundation
import LinuxSystem
import Logging
import Systemd

/// Accepts connections on the control socket and hands each request to the event loop.
///
/// Blocking `accept` and `recv` run on threads of their own, never on the cooperative pool
/// that runs the loop: one thread accepts, and each connection gets a short-lived thread that
/// reads its one request line (bounded by a receive timeout, so a client that connects and
/// says nothing costs a thread for a few seconds, not for ever).
final class ControlServer: Sendable {
    private let listener: UnixListener
    private let deliver: @Sendable (ControlConnection) -> Void
    private let logger: Logger

    /// Binds the socket at `path`, mode 0666: anyone may connect, and every method checks
    /// the caller's uid itself.
    init(path: String, logger: Logger, deliver: @escaping @Sendable (ControlConnection) -> Void) throws {
        listener = try UnixListener(path: path, mode: 0o666)
        self.deliver = deliver
        self.logger = logger
    }

    /// Starts the accepting thread.
    func start() {
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "appattach-control"
        thread.start()
    }

    /// Stops accepting; requests already delivered are still answered.
    func stop() { listener.shutdown() }

    private func acceptLoop() {
        while true {
            let connection: UnixSocket?
            do { connection = try listener.accept() } catch {
                logger.error("the control socket stopped accepting", error: error)
                return
            }
            guard let connection else { return }
            let thread = Thread { [self] in read(connection) }
            thread.name = "appattach-control-client"
            thread.start()
        }
    }

    private func read(_ socket: UnixSocket) {
        do {
            let peer = try socket.peerCredentials()
            try socket.setReceiveTimeout(.seconds(10))
            guard let line = try socket.readLine(limit: 64 << 10) else { return }
            deliver(ControlConnection(line: line, peer: peer, socket: socket, receivedAt: JournalClock.nowMicroseconds()))
        } catch {
            logger.debug("control client dropped: \(error)")
        }
    }
}
