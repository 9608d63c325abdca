import ControlProtocol
import Glibc
import LinuxSystem
import Systemd

/// Reading requests, writing replies, deadlines and closing, on the I/O thread.
extension ControlIOLoop {
    /// Reads what has arrived; a whole line goes to the event loop. Bytes after the newline
    /// are ignored: one request per connection.
    func read(_ slot: Slot) {
        while true {
            let room = limits.maxRequestBytes + 1 - slot.socket.receivedCount
            let received: UnixSocket.Received
            do { received = try slot.socket.receiveAvailable(maximum: min(16 << 10, max(room, 1))) } catch { return close(slot) }
            switch received {
            case .nothing: return
            case .closed: return close(slot)
            case .bytes:
                if let line = slot.socket.receivedLine() {
                    slot.phase = .waiting
                    counts.delivered += 1
                    deliver(ControlConnection(line: line, peer: slot.peer, id: slot.id, outbox: outbox))
                    return
                }
                if slot.socket.receivedCount > limits.maxRequestBytes {
                    refuse(slot.socket, .invalidParameter, "a request line is at most \(limits.maxRequestBytes) bytes")
                    return close(slot)
                }
            }
        }
    }

    /// Starts writing the loop's reply to connection `id`, if it is still open.
    func startWriting(_ id: UInt64, _ bytes: [UInt8]) {
        guard let slot = slots[id], case .waiting = slot.phase else { return }
        slot.phase = .writing(bytes: bytes, offset: 0, until: .after(limits.replyDeadline))
        write(slot)
    }

    /// Writes what the client's socket takes now; closes the connection once all is written.
    func write(_ slot: Slot) {
        guard case .writing(let bytes, var offset, let until) = slot.phase else { return }
        do {
            while offset < bytes.count {
                let n = try slot.socket.sendAvailable(bytes[offset...])
                if n == 0 { break }
                offset += n
            }
        } catch {
            return close(slot)
        }
        if offset == bytes.count {
            counts.replied += 1
            return close(slot)
        }
        slot.phase = .writing(bytes: bytes, offset: offset, until: until)
    }

    /// Drops connections past their deadline: a request line not whole by the request
    /// deadline (told so), a reply not taken by the reply deadline.
    func expire(_ now: Deadline) {
        for slot in Array(slots.values) {
            switch slot.phase {
            case .reading(let until) where now >= until:
                counts.requestsTimedOut += 1
                refuse(slot.socket, .requestTimedOut,
                       "no whole request line within \(limits.requestDeadline.secondsText) of connecting")
                close(slot)
            case .writing(_, let offset, let until) where now >= until:
                counts.repliesTimedOut += 1
                if bursts.note("slow \(slot.peer.uid)", "replies not taken in time by uid \(slot.peer.uid)") {
                    logger.warning("control socket: uid \(slot.peer.uid) (pid \(slot.peer.pid)) took \(offset) bytes of its reply in \(limits.replyDeadline.secondsText); connection dropped",
                                   metadata: ["appattach.peer_uid": "\(slot.peer.uid)", "appattach.peer_pid": "\(slot.peer.pid)"])
                }
                close(slot)
            default:
                continue
            }
        }
    }

    /// Sends an error line if the socket takes it now (it is short, and a fresh connection's
    /// buffer is empty), never waiting; the caller closes.
    func refuse(_ socket: UnixSocket, _ name: ControlErrorName, _ message: String) {
        let line = ControlConnection.errorLine(name, message)
        _ = try? socket.sendAvailable((Array(line.utf8) + [0x0A])[...])
        socket.close()
    }

    /// Closes a connection and gives its place back.
    func close(_ slot: Slot) {
        guard slots.removeValue(forKey: slot.id) != nil else { return }
        admission.release(slot.peer.uid)
        slot.socket.close()
    }
}
