import Health

/// The admin's verbs on a host-pool file (`hostpool add`, `publish`, `unpublish`, `activate`,
/// `remove`), made to the text as an admin would make them by hand: the file's comments, order
/// and layout stay; only the lines of the keys that change are rewritten, a new entry goes at
/// the end, a removed one takes its own comment lines with it. Every change is validated as
/// the hosts will read it (`HostPoolDefinition.parse`): a change that would make the file
/// refused throws, and `text` stays as it was.
public struct HostPoolEditor: Sendable {
    /// The file's text, with the changes made so far.
    public private(set) var text: String
    /// How errors name the file.
    public let displayName: String
    /// What `text` says.
    public private(set) var definition: HostPoolDefinition

    public init(text: String, displayName: String) throws(ConfigurationError) {
        self.text = text
        self.displayName = displayName
        definition = try HostPoolDefinition.parse(text, displayName: displayName)
    }

    /// What an edit asked for that the file cannot give.
    public struct EditError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    // MARK: - The verbs

    /// Adds `entry` at the end of the file. Refused when an entry for the same package and
    /// image is there already.
    public mutating func add(_ entry: PackageEntry) throws {
        if definition.packages.contains(where: { $0.image == entry.image && "\($0.package)" == "\(entry.package)" }) {
            throw EditError(description: "\(displayName) has an entry for \(entry.package) from \(entry.image) already")
        }
        var block = ["[[package]]", "image = \(Self.literal(entry.image))", "name = \(Self.literal("\(entry.package)"))",
                     "registration = \(Self.literal(entry.registration.rawValue))", "state = \(Self.literal(entry.state.rawValue))",
                     "health = \(Self.literal(entry.health.rawValue))"]
        if !entry.users.isEmpty { block.append("users = \(Self.literal(entry.users))") }
        if !entry.groups.isEmpty { block.append("groups = \(Self.literal(entry.groups))") }
        var lines = Self.lines(text)
        while lines.last?.allSatisfy(\.isWhitespace) == true { lines.removeLast() }
        if !lines.isEmpty { lines.append("") }
        try commit(lines + block)
    }

    /// Adds `users` and `groups` to every entry of `package` (a family name: all its
    /// versions; a full name: that one). Returns how many entries changed.
    @discardableResult
    public mutating func publish(_ package: String, users: [String], groups: [String]) throws -> Int {
        try changeAudience(package) { existing, key in
            let added = key == "users" ? users : groups
            return existing + added.filter { !existing.contains($0) }
        }
    }

    /// Takes `users` and `groups` off every entry of `package`. Returns how many entries changed.
    @discardableResult
    public mutating func unpublish(_ package: String, users: [String], groups: [String]) throws -> Int {
        try changeAudience(package) { existing, key in
            let removed = Set(key == "users" ? users : groups)
            return existing.filter { !removed.contains($0) }
        }
    }

    /// Makes the entry that names `fullName` active and every other entry of its family
    /// inactive, in one change: hosts never see two active versions, nor none in between.
    public mutating func activate(_ fullName: String) throws {
        guard let reference = PackageReference(fullName), reference.fullName != nil else {
            throw EditError(description: "\(fullName) is not a PackageFullName (Name_Version_Arch_ResourceId_PublisherId)")
        }
        let targets = definition.packages.indices.filter { definition.packages[$0].package.fullName == fullName }
        guard targets.count == 1, let target = targets.first else {
            throw EditError(description: targets.isEmpty
                ? "\(displayName) has no entry naming \(fullName); add it with hostpool add --name \(fullName) --inactive"
                : "\(displayName) has \(targets.count) entries naming \(fullName); remove all but one")
        }
        var lines = Self.lines(text)
        // From the end, so that each change leaves the lines of the entries before it in place.
        for index in definition.packages.indices.reversed() {
            let entry = definition.packages[index]
            guard entry.package.familyName == reference.familyName else { continue }
            let state: PackageState = index == target ? .active : .inactive
            if entry.state != state { setKey("state", to: Self.literal(state.rawValue), entry: index, in: &lines) }
        }
        try commit(lines)
    }

    /// Removes every entry of `package` (family or full name), only the one from `image` when
    /// given. Returns how many were removed.
    @discardableResult
    public mutating func remove(_ package: String, image: String? = nil) throws -> Int {
        let indices = try matching(package).filter { image == nil || definition.packages[$0].image == image }
        guard !indices.isEmpty else { throw EditError(description: "\(displayName) has no entry for \(package) from \(image ?? "any image")") }
        var lines = Self.lines(text)
        for index in indices.reversed() {
            let extent = self.extent(of: index, in: lines)
            lines.removeSubrange(extent)
            // One blank line between entries, none left at the end.
            while extent.lowerBound < lines.count, extent.lowerBound > 0,
                  lines[extent.lowerBound].allSatisfy(\.isWhitespace), lines[extent.lowerBound - 1].allSatisfy(\.isWhitespace) {
                lines.remove(at: extent.lowerBound)
            }
        }
        while lines.last?.allSatisfy(\.isWhitespace) == true { lines.removeLast() }
        try commit(lines)
        return indices.count
    }

    // MARK: - Lines

    /// The entries `package` selects: a full name its entry, a family name every entry of the family.
    private func matching(_ package: String) throws -> [Int] {
        guard let reference = PackageReference(package) else {
            throw EditError(description: "\(package) is neither a PackageFamilyName nor a PackageFullName")
        }
        return definition.packages.indices.filter { index in
            let entry = definition.packages[index].package
            return reference.fullName == nil ? entry.familyName == reference.familyName : "\(entry)" == package
        }
    }

    private mutating func changeAudience(_ package: String, _ change: ([String], String) -> [String]) throws -> Int {
        let indices = try matching(package)
        guard !indices.isEmpty else { throw EditError(description: "\(displayName) has no entry for \(package)") }
        var lines = Self.lines(text)
        var changed = 0
        for index in indices.reversed() {
            let entry = definition.packages[index]
            var touched = false
            for (key, existing) in [("groups", entry.groups), ("users", entry.users)] {
                let new = change(existing, key)
                guard new != existing else { continue }
                setKey(key, to: Self.literal(new), entry: index, in: &lines)
                touched = true
            }
            if touched { changed += 1 }
        }
        if changed > 0 { try commit(lines) }
        return changed
    }

    /// Validates `lines` as the new file and takes it.
    private mutating func commit(_ lines: [String]) throws(ConfigurationError) {
        let new = lines.joined(separator: "\n") + "\n"
        definition = try HostPoolDefinition.parse(new, displayName: displayName)
        text = new
    }

    static func lines(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// The lines of entry `index` (0-based line numbers): its header, keys and the comment
    /// lines just above its header; not the blank lines and comments that lead to the next.
    private func extent(of index: Int, in lines: [String]) -> Range<Int> {
        let headers = definition.packages.compactMap { $0.line.map { $0 - 1 } }
        let header = headers[index]
        var start = header
        while start > 0, lines[start - 1].trimmingLeadingWhitespace.hasPrefix("#") { start -= 1 }
        var end = index + 1 < headers.count ? headers[index + 1] : lines.count
        while end > header + 1, lines[end - 1].trimmingLeadingWhitespace.isEmpty || lines[end - 1].trimmingLeadingWhitespace.hasPrefix("#") {
            end -= 1
        }
        return start..<end
    }

    /// Writes `key = value` in entry `index`: over the lines of its value where it is written,
    /// after the entry's last key where it is not.
    private func setKey(_ key: String, to value: String, entry index: Int, in lines: inout [String]) {
        let map = TOMLSourceMap(lines.joined(separator: "\n") + "\n")
        let line = "\(key) = \(value)"
        if let written = map.exactLine(of: [.key("package"), .index(index), .key(key)]) {
            let first = written - 1
            lines.replaceSubrange(first..<Self.valueEnd(from: first, in: lines), with: [line])
        } else {
            lines.insert(line, at: extent(of: index, in: lines).upperBound)
        }
    }

    /// The line after the value that starts on line `first` ends: arrays may span lines.
    static func valueEnd(from first: Int, in lines: [String]) -> Int {
        var depth = 0
        var line = first
        repeat {
            var inString: Character?
            var escaped = false
            scan: for character in lines[line] {
                if let quote = inString {
                    if escaped { escaped = false } else if character == "\\" && quote == "\"" { escaped = true } else if character == quote { inString = nil }
                    continue
                }
                switch character {
                case "\"", "'": inString = character
                case "[": depth += 1
                case "]": depth -= 1
                case "#": break scan
                default: break
                }
            }
            line += 1
        } while depth > 0 && line < lines.count
        return line
    }

    // MARK: - TOML values

    /// A TOML basic string.
    static func literal(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// A TOML array of basic strings, on one line.
    static func literal(_ values: [String]) -> String {
        "[" + values.map { literal($0) }.joined(separator: ", ") + "]"
    }
}

extension String {
    fileprivate var trimmingLeadingWhitespace: Substring { drop { $0 == " " || $0 == "\t" } }
}
