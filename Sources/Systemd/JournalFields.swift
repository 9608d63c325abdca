import Logging

/// One field of a journal entry, `NAME=value`.
public struct JournalField: Sendable, Hashable {
    /// The field name: upper-case ASCII letters, digits and underscores, not starting with a digit
    /// or an underscore (journald drops fields that break these rules, and a leading underscore is
    /// reserved for the fields journald itself adds).
    public var name: String
    /// The value, any text; newlines are carried in journald's binary-safe form by libsystemd.
    public var value: String

    /// Creates a field; `name` is taken as it is (see ``JournalFields/fieldName(forMetadataKey:)``).
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// Turns a swift-log event into journal fields. Pure, so the mapping is testable without journald.
///
/// - `MESSAGE`, `PRIORITY` (syslog numbers), `SYSLOG_IDENTIFIER` (the logger's label),
///   `CODE_FILE`/`CODE_LINE`/`CODE_FUNC`, and `ERROR` (plus `ERRNO` for errors that carry one).
/// - Metadata: `appattach.package` becomes `APPATTACH_PACKAGE`, `message.id` becomes `MESSAGE_ID`.
///   Nested values are flattened: a dictionary `user: [uid: 1000]` gives `USER_UID=1000`, an array
///   `paths: [a, b]` gives `PATHS_0=a` and `PATHS_1=b`.
public enum JournalFields {
    /// The names this mapping sets itself; metadata may not override them, so that a stray
    /// `priority` key cannot change how the entry is filed. Such keys get a `METADATA_` prefix.
    public static let reservedNames: Set<String> = [
        "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CODE_FILE", "CODE_LINE", "CODE_FUNC", "ERROR", "ERRNO",
    ]

    /// journald refuses longer field names.
    static let maximumNameLength = 64

    /// The syslog priority for a swift-log level (`man syslog(3)`: 7 debug … 2 critical).
    public static func priority(of level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    /// All fields of one entry, in a stable order: the fixed fields first, then metadata sorted by
    /// field name (a dictionary has no order; a stable one keeps tests and entries comparable).
    public static func fields(
        label: String, level: Logger.Level, message: String, metadata: Logger.Metadata?,
        error: (any Error)? = nil, file: String, function: String, line: UInt
    ) -> [JournalField] {
        var fields = [
            JournalField("MESSAGE", message),
            JournalField("PRIORITY", String(priority(of: level))),
            JournalField("SYSLOG_IDENTIFIER", label),
            JournalField("CODE_FILE", file),
            JournalField("CODE_LINE", String(line)),
            JournalField("CODE_FUNC", function),
        ]
        if let error {
            fields.append(JournalField("ERROR", String(describing: error)))
            if let errno = errnoValue(of: error) { fields.append(JournalField("ERRNO", String(errno))) }
        }
        var flattened: [JournalField] = []
        for (key, value) in metadata ?? [:] {
            flatten(value, into: &flattened, name: fieldName(forMetadataKey: key))
        }
        flattened.sort { ($0.name, $0.value) < ($1.name, $1.value) }
        return fields + flattened
    }

    /// The journal field name for a metadata key: upper-cased, every character other than an ASCII
    /// letter or digit turned into `_`, leading underscores dropped, `F` put before a leading digit,
    /// and cut to 64 characters. An empty result becomes `METADATA`.
    public static func fieldName(forMetadataKey key: String) -> String {
        // Per Unicode scalar, so that "ü" becomes one underscore, not one per UTF-8 byte.
        var name = String(String.UnicodeScalarView(key.unicodeScalars.map(normalized)))
        while name.hasPrefix("_") { name.removeFirst() }
        if name.isEmpty { return "METADATA" }
        if name.first!.isNumber { name = "F" + name }
        if reservedNames.contains(name) { name = "METADATA_" + name }
        return String(name.prefix(maximumNameLength))
    }

    private static func normalized(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        switch scalar {
        case "A"..."Z", "0"..."9": return scalar
        case "a"..."z": return Unicode.Scalar(scalar.value - 32)!
        default: return "_"
        }
    }

    private static func flatten(_ value: Logger.MetadataValue, into fields: inout [JournalField], name: String) {
        switch value {
        case .string(let text):
            fields.append(JournalField(name, text))
        case .stringConvertible(let convertible):
            fields.append(JournalField(name, convertible.description))
        case .array(let values):
            for (index, element) in values.enumerated() {
                flatten(element, into: &fields, name: joined(name, String(index)))
            }
        case .dictionary(let dictionary):
            for (key, element) in dictionary {
                flatten(element, into: &fields, name: joined(name, fieldName(forMetadataKey: key)))
            }
        }
    }

    private static func joined(_ prefix: String, _ suffix: String) -> String {
        String((prefix + "_" + suffix).prefix(maximumNameLength))
    }

    /// The errno an error carries, for errors that store it as `errno` (the project's
    /// `SystemCallError` does); found by reflection so this module needs no dependency on them.
    private static func errnoValue(of error: any Error) -> Int32? {
        for child in Mirror(reflecting: error).children {
            guard child.label == "errno" else { continue }
            if let value = child.value as? Int32 { return value }
            if let raw = (child.value as? any RawRepresentable)?.rawValue as? Int32 { return raw }
        }
        return nil
    }
}
