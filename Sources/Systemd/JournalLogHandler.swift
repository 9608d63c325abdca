import Logging

/// A swift-log handler that writes structured entries to journald (`sd_journal_sendv`), or to
/// standard error when journald is absent. See ``JournalFields`` for how an event becomes fields.
///
/// Bootstrap it once in the executable:
/// ```swift
/// let destination = JournalDestination()
/// LoggingSystem.bootstrap { JournalLogHandler(label: $0, destination: destination) }
/// ```
/// and log events with their catalog id: `logger.info("…", metadata: AgentEvent.signInSeen.metadata)`.
public struct JournalLogHandler: LogHandler {
    /// The logger's label, sent as `SYSLOG_IDENTIFIER`.
    public let label: String
    /// Shared by every copy of this handler.
    public let destination: JournalDestination
    /// Entries below this level are dropped before any work is done.
    public var logLevel: Logger.Level = .info
    /// Metadata attached to every entry of this handler (lowest precedence).
    public var metadata: Logger.Metadata = [:]
    /// Metadata from the task's context (precedence between handler and event metadata).
    public var metadataProvider: Logger.MetadataProvider?

    /// Creates a handler; with the default destination, journald is used when its socket exists.
    public init(label: String, destination: JournalDestination = JournalDestination(),
                metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.destination = destination
        self.metadataProvider = metadataProvider
    }

    /// Reads or writes one key of the handler's metadata.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Sends the event. swift-log has already checked `logLevel`.
    public func log(event: LogEvent) {
        destination.send(fields(for: event))
    }

    /// The fields for an event, metadata merged in swift-log's order: handler, provider, event.
    public func fields(for event: LogEvent) -> [JournalField] {
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            merged.merge(provided) { _, new in new }
        }
        if let explicit = event.metadata, !explicit.isEmpty {
            merged.merge(explicit) { _, new in new }
        }
        return JournalFields.fields(
            label: label, level: event.level, message: event.message.description, metadata: merged,
            error: event.error, file: event.file, function: event.function, line: event.line)
    }
}
