import LinuxSystem
import Synchronization

/// What other threads hand the control socket's I/O thread: replies the event loop wrote,
/// connections nobody will answer, and the requests to stop. Posting never waits on a
/// client: the bytes are queued here and the I/O thread writes them when the client reads.
final class ControlOutbox: Sendable {
    /// Everything posted since the I/O thread last looked.
    struct Mail: Sendable {
        var replies: [(id: UInt64, bytes: [UInt8])] = []
        var abandoned: [UInt64] = []
        var stop = false
        var finishBy: Deadline?
    }

    private let mail = Mutex(Mail())
    /// Wakes the I/O thread out of `poll`.
    let wake: WakeSignal
    /// The longest reply (``ControlLimits/maxReplyBytes``).
    let maxReplyBytes: Int

    init(maxReplyBytes: Int) throws(SystemCallError) {
        wake = try WakeSignal()
        self.maxReplyBytes = maxReplyBytes
    }

    /// Queues the reply to connection `id` (a whole line, newline included).
    func post(_ id: UInt64, _ bytes: [UInt8]) {
        mail.withLock { $0.replies.append((id, bytes)) }
        wake.signal()
    }

    /// Connection `id` will get no reply: close it.
    func abandon(_ id: UInt64) {
        mail.withLock { $0.abandoned.append(id) }
        wake.signal()
    }

    /// Stop accepting; drop requests not read whole; answer the rest.
    func stop() {
        mail.withLock { $0.stop = true }
        wake.signal()
    }

    /// Stop, and end by `deadline` whatever is still unanswered or unread.
    func finish(by deadline: Deadline) {
        mail.withLock { $0.stop = true; $0.finishBy = deadline }
        wake.signal()
    }

    /// Takes everything posted so far.
    func take() -> Mail {
        mail.withLock { mail in
            let taken = mail
            mail.replies = []
            mail.abandoned = []
            return taken
        }
    }
}
