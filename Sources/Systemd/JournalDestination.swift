import CSystemd
import Dispatch
import Glibc

/// Where ``JournalLogHandler`` entries go: journald's native socket, or standard error when
/// journald is not there. Shared by every copy of the handler (a reference type on purpose:
/// swift-log's value semantics apply to a handler's configuration, not to its destination).
public final class JournalDestination: Sendable {
    /// How entries are written.
    public enum Mode: Sendable, Equatable {
        /// `sd_journal_sendv` to journald's socket.
        case journal
        /// One line per entry on standard error.
        case standardError
    }

    /// journald's native protocol socket (`man systemd-journald.service`).
    public static let journalSocketPath = "/run/systemd/journal/socket"

    /// The mode chosen when the destination was made.
    public let mode: Mode
    /// With `asynchronous`, entries are written in order by a queue of their own, so that a
    /// caller never waits for journald; nil writes on the caller's thread.
    private let writer: DispatchQueue?
    /// Entries queued and not written yet, at most ``queueLimit``: beyond it callers wait,
    /// as they would for journald itself, rather than memory growing without bound.
    private let room: DispatchSemaphore?

    /// How many entries an asynchronous destination holds before callers wait.
    public static let queueLimit = 10_000

    /// Chooses the journal when its socket exists, standard error otherwise. The check is needed
    /// because libsystemd reports success (0) when the socket is missing and drops the entry.
    ///
    /// - Parameter asynchronous: write from a queue of its own. journald reads its socket when it
    ///   gets round to it; when many processes log at once (a storm of sign-ins) the kernel's
    ///   queue for the socket fills and `sd_journal_sendv` blocks the caller, for a second and
    ///   more. A daemon's event loop must not wait for that. Call ``flush()`` before exiting.
    public convenience init(asynchronous: Bool = false) {
        self.init(mode: access(Self.journalSocketPath, W_OK) == 0 ? .journal : .standardError, asynchronous: asynchronous)
    }

    /// Uses the given mode; `.standardError` is useful for tests and foreground runs.
    public init(mode: Mode, asynchronous: Bool = false) {
        self.mode = mode
        writer = asynchronous ? DispatchQueue(label: "appattach-journal-writer") : nil
        room = asynchronous ? DispatchSemaphore(value: Self.queueLimit) : nil
    }

    /// Writes one entry (or queues it, when asynchronous). Never throws and never traps:
    /// logging must not take the agent down. When journald refuses an entry, it goes to
    /// standard error instead, so it is not lost.
    ///
    /// The corresponding C function is `sd_journal_sendv`.
    public func send(_ fields: [JournalField]) {
        guard let writer, let room else { return deliver(fields) }
        room.wait()
        writer.async { [self] in
            deliver(fields)
            room.signal()
        }
    }

    /// Returns when every entry sent so far is written.
    public func flush() {
        writer?.sync {}
    }

    private func deliver(_ fields: [JournalField]) {
        if mode == .journal, Self.sendToJournal(fields) >= 0 { return }
        Self.writeToStandardError(fields)
    }

    /// Packs the fields into one buffer and hands libsystemd an iovec per field; libsystemd adds
    /// journald's length-prefixed framing for values that contain newlines.
    static func sendToJournal(_ fields: [JournalField]) -> Int32 {
        var buffer: [UInt8] = []
        var ranges: [(offset: Int, length: Int)] = []
        for field in fields {
            let start = buffer.count
            buffer.append(contentsOf: field.name.utf8)
            buffer.append(UInt8(ascii: "="))
            buffer.append(contentsOf: field.value.utf8)
            ranges.append((start, buffer.count - start))
        }
        return buffer.withUnsafeMutableBytes { raw -> Int32 in
            guard let base = raw.baseAddress else { return -EINVAL }
            var vectors = ranges.map { iovec(iov_base: base + $0.offset, iov_len: $0.length) }
            return sd_journal_sendv(&vectors, Int32(vectors.count))
        }
    }

    /// The line written to standard error for an entry: `<label>: <level>: <message> NAME=value …`,
    /// without the location fields, which are noise on a terminal.
    public static func standardErrorLine(_ fields: [JournalField]) -> String {
        let value = { (name: String) in fields.first { $0.name == name }?.value ?? "" }
        let skipped: Set<String> = ["MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CODE_FILE", "CODE_LINE", "CODE_FUNC"]
        let extra = fields.filter { !skipped.contains($0.name) }.map { "\($0.name)=\($0.value)" }
        let level = levelName(priority: value("PRIORITY"))
        return ([value("SYSLOG_IDENTIFIER") + ":", level + ":", value("MESSAGE")] + extra).joined(separator: " ") + "\n"
    }

    private static func levelName(priority: String) -> String {
        switch priority {
        case "2": return "critical"
        case "3": return "error"
        case "4": return "warning"
        case "5": return "notice"
        case "6": return "info"
        default: return "debug"
        }
    }

    private static func writeToStandardError(_ fields: [JournalField]) {
        var line = standardErrorLine(fields)
        // One write(2) per entry so lines from several threads do not interleave.
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
