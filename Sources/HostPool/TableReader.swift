import TOMLKit

/// Reads the values of one TOML table by key, with errors that name the file, the line and the
/// key as the admin wrote it (`share.path must be a string, not an integer`).
///
/// Every accessor returns nil for a key that is absent, so defaults stay at the call site where
/// they are documented; `rejectUnknownKeys` catches typos such as `regisration`, which would
/// otherwise silently fall back to a default.
struct TableReader {
    let table: TOMLTable
    /// Where the table is in the document.
    let path: [TOMLSourceMap.Component]
    /// Put before key names in messages: `share.` for `[share]`, empty for the root and for
    /// entries of an array of tables (whose error line already says which one).
    let keyPrefix: String
    let document: DocumentContext

    /// The line of the table itself (its header), for messages about the table as a whole.
    var line: Int? { document.line(of: path) }

    func error(_ message: String, key: String? = nil) -> ConfigurationError {
        document.error(message, at: key.map { path + [.key($0)] } ?? path)
    }

    func name(_ key: String) -> String { keyPrefix + key }

    func contains(_ key: String) -> Bool { table.contains(key: key) }

    func string(_ key: String) throws(ConfigurationError) -> String? {
        guard let value = table[key] else { return nil }
        guard let string = value.string else { throw mismatch(key, value, expected: "a string") }
        return string
    }

    func requiredString(_ key: String) throws(ConfigurationError) -> String {
        guard let value = try string(key) else { throw error("\(name(key)) is missing", key: nil) }
        return value
    }

    func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let value = table[key] else { return nil }
        guard value.type == .bool, let bool = value.bool else { throw mismatch(key, value, expected: "true or false") }
        return bool
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let value = table[key] else { return nil }
        guard value.type == .int, let int = value.int else { throw mismatch(key, value, expected: "an integer") }
        guard range.contains(int) else {
            throw error("\(name(key)) must be from \(range.lowerBound) to \(range.upperBound), not \(int)", key: key)
        }
        return int
    }

    /// An array of non-empty strings.
    func stringArray(_ key: String) throws(ConfigurationError) -> [String]? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else { throw mismatch(key, value, expected: "an array of strings") }
        var strings: [String] = []
        for (index, element) in array.enumerated() {
            guard let string = element.string else {
                throw document.error("\(name(key)) must hold only strings, not \(Self.describe(element.type))",
                                     at: path + [.key(key), .index(index)])
            }
            guard !string.isEmpty else {
                throw document.error("\(name(key)) must not hold an empty name", at: path + [.key(key), .index(index)])
            }
            strings.append(string)
        }
        return strings
    }

    /// A string that must be one of `Value`'s raw values; the error lists them.
    func choice<Value: RawRepresentable & CaseIterable>(_ key: String, of: Value.Type) throws(ConfigurationError) -> Value?
    where Value.RawValue == String {
        guard let raw = try string(key) else { return nil }
        if let value = Value(rawValue: raw) { return value }
        let names = Value.allCases.map { "\"\($0.rawValue)\"" }
        let choices = names.count == 2 ? names.joined(separator: " or ")
            : names.dropLast().joined(separator: ", ") + " or " + names.last!
        throw error("\(name(key)) must be \(choices), not \"\(raw)\"", key: key)
    }

    /// The sub-table `key` (`[share]`), or nil when absent.
    func table(_ key: String) throws(ConfigurationError) -> TableReader? {
        guard let value = table[key] else { return nil }
        guard value.type == .table, let sub = value.table else { throw mismatch(key, value, expected: "a table") }
        return TableReader(table: sub, path: path + [.key(key)], keyPrefix: name(key) + ".", document: document)
    }

    /// The array of tables `key` (`[[package]]`), or nil when absent.
    func tableArray(_ key: String) throws(ConfigurationError) -> [TableReader]? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else { throw mismatch(key, value, expected: "an array of tables ([[\(name(key))]])") }
        var readers: [TableReader] = []
        for (index, element) in array.enumerated() {
            guard element.type == .table, let sub = element.table else {
                throw document.error("each \(name(key)) must be a table, not \(Self.describe(element.type))",
                                     at: path + [.key(key), .index(index)])
            }
            readers.append(TableReader(table: sub, path: path + [.key(key), .index(index)], keyPrefix: "", document: document))
        }
        return readers
    }

    /// Refuses keys the format does not define, so a misspelt key is an error rather than a
    /// silently ignored line.
    func rejectUnknownKeys(allowed: Set<String>) throws(ConfigurationError) {
        // Report the first unknown key in file order, which is the one an admin looks for first.
        let unknown = table.keys.filter { !allowed.contains($0) }
        guard !unknown.isEmpty else { return }
        let first = unknown.min { (document.line(of: path + [.key($0)]) ?? 0) < (document.line(of: path + [.key($1)]) ?? 0) }!
        let known = allowed.sorted().map { name($0) }.joined(separator: ", ")
        throw error("unknown key \(name(first)) (known keys: \(known))", key: first)
    }

    private func mismatch(_ key: String, _ value: TOMLValueConvertible, expected: String) -> ConfigurationError {
        error("\(name(key)) must be \(expected), not \(Self.describe(value.type))", key: key)
    }

    static func describe(_ type: TOMLType) -> String {
        switch type {
        case .table: return "a table"
        case .array: return "an array"
        case .string: return "a string"
        case .int: return "an integer"
        case .double: return "a floating-point number"
        case .bool: return "a boolean"
        case .date: return "a date"
        case .time: return "a time"
        case .dateTime: return "a date-time"
        }
    }
}
