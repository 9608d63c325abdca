/// The line on which each table and key of a TOML document is written.
///
/// TOMLKit reports positions for syntax errors only; its tables carry no source positions. To
/// name the line of a value that parses but is wrong (an unknown mode, a duplicate package),
/// this scans the text once more, lexically: table headers, dotted keys, strings of all four
/// kinds, arrays and inline tables. It runs on documents TOMLKit has already accepted, so it
/// only has to be right for valid TOML, and it always terminates on anything else.
struct TOMLSourceMap {
    /// One step of a path into the document: a key, or an element of an array (of tables).
    enum Component: Hashable, Sendable {
        case key(String)
        case index(Int)
    }

    private var lines: [[Component]: Int] = [:]

    init(_ text: String) {
        var scanner = Scanner(bytes: Array(text.utf8))
        scanner.scanDocument()
        lines = scanner.lines
    }

    /// The line on which `path` itself is written, or nil when it is not.
    func exactLine(of path: [Component]) -> Int? { lines[path] }

    /// The line of `path`, or of its nearest enclosing table or key when `path` itself is not
    /// written (a missing key is reported on the line of the table that should hold it).
    func line(of path: [Component]) -> Int? {
        var path = path
        while true {
            if let line = lines[path] { return line }
            if path.isEmpty { return nil }
            path.removeLast()
        }
    }
}

private struct Scanner {
    let bytes: [UInt8]
    var position = 0
    var line = 1
    var lines: [[TOMLSourceMap.Component]: Int] = [:]
    /// How many elements each array of tables has so far, by resolved path.
    var arrayTableCounts: [[TOMLSourceMap.Component]: Int] = [:]

    init(bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { position >= bytes.count }
    func peek(_ offset: Int = 0) -> UInt8? {
        position + offset < bytes.count ? bytes[position + offset] : nil
    }
    mutating func advance(_ count: Int = 1) {
        for _ in 0..<count where !atEnd {
            if bytes[position] == UInt8(ascii: "\n") { line += 1 }
            position += 1
        }
    }

    mutating func scanDocument() {
        var table: [TOMLSourceMap.Component] = []
        while true {
            skipTrivia()
            guard let byte = peek() else { return }
            let start = position
            if byte == UInt8(ascii: "[") {
                let headerLine = line
                let isArrayOfTables = peek(1) == UInt8(ascii: "[")
                advance(isArrayOfTables ? 2 : 1)
                let keys = readKeyPath()
                advance(isArrayOfTables ? 2 : 1)
                table = resolveHeader(keys, isArrayOfTables: isArrayOfTables)
                if lines[table] == nil { lines[table] = headerLine }
            } else {
                let keyLine = line
                let keys = readKeyPath()
                if peek() == UInt8(ascii: "=") {
                    advance()
                    let path = table + keys.map { .key($0) }
                    lines[path] = keyLine
                    skipBlank()
                    skipValue(path: path)
                }
            }
            skipToEndOfLine()
            if position == start { advance() } // never loop on text that is not TOML
        }
    }

    /// Turns the keys of a header into a path, stepping into the last element of every array of
    /// tables on the way (`[[a.b]]` after `[[a]]` belongs to the latest `a`).
    mutating func resolveHeader(_ keys: [String], isArrayOfTables: Bool) -> [TOMLSourceMap.Component] {
        var path: [TOMLSourceMap.Component] = []
        for (n, key) in keys.enumerated() {
            path.append(.key(key))
            let isLast = n == keys.count - 1
            if isLast && isArrayOfTables {
                let count = arrayTableCounts[path, default: 0]
                arrayTableCounts[path] = count + 1
                path.append(.index(count))
            } else if let count = arrayTableCounts[path] {
                path.append(.index(count - 1))
            }
        }
        return path
    }

    /// Reads `a.b."c d".'e'` up to (not including) `=` or `]`.
    mutating func readKeyPath() -> [String] {
        var keys: [String] = []
        while true {
            skipBlank()
            guard let byte = peek() else { return keys }
            if byte == UInt8(ascii: "\"") {
                keys.append(readBasicString())
            } else if byte == UInt8(ascii: "'") {
                keys.append(readLiteralString())
            } else {
                let start = position
                while let b = peek(), Self.isBareKeyByte(b) { advance() }
                if position == start { return keys }
                keys.append(String(decoding: bytes[start..<position], as: UTF8.self))
            }
            skipBlank()
            guard peek() == UInt8(ascii: ".") else { return keys }
            advance()
        }
    }

    static func isBareKeyByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }

    /// Skips one value, recording the line of every array element and inline-table key in it.
    mutating func skipValue(path: [TOMLSourceMap.Component]) {
        guard let byte = peek() else { return }
        switch byte {
        case UInt8(ascii: "\""):
            if peek(1) == byte && peek(2) == byte { skipMultilineString(quote: byte) } else { _ = readBasicString() }
        case UInt8(ascii: "'"):
            if peek(1) == byte && peek(2) == byte { skipMultilineString(quote: byte) } else { _ = readLiteralString() }
        case UInt8(ascii: "["):
            advance()
            var index = 0
            while true {
                skipTrivia()
                guard let b = peek() else { return }
                if b == UInt8(ascii: "]") { advance(); return }
                let start = position
                lines[path + [.index(index)]] = line
                skipValue(path: path + [.index(index)])
                skipTrivia()
                if peek() == UInt8(ascii: ",") { advance() }
                if position == start { advance() }
                index += 1
            }
        case UInt8(ascii: "{"):
            advance()
            while true {
                skipBlank()
                guard let b = peek(), b != UInt8(ascii: "\n") else { return }
                if b == UInt8(ascii: "}") { advance(); return }
                let start = position
                let keyLine = line
                let keys = readKeyPath()
                if peek() == UInt8(ascii: "=") {
                    advance()
                    let inner = path + keys.map { .key($0) }
                    lines[inner] = keyLine
                    skipBlank()
                    skipValue(path: inner)
                }
                skipBlank()
                if peek() == UInt8(ascii: ",") { advance() }
                if position == start { advance() }
            }
        default:
            // Numbers, booleans, dates (which may contain a space): up to the next delimiter.
            while let b = peek(), b != UInt8(ascii: ","), b != UInt8(ascii: "]"), b != UInt8(ascii: "}"),
                  b != UInt8(ascii: "\n"), b != UInt8(ascii: "#") {
                advance()
            }
        }
    }

    /// Reads a `"…"` string, decoding the simple escapes (keys are compared by their value).
    mutating func readBasicString() -> String {
        advance()
        var value: [UInt8] = []
        while let b = peek(), b != UInt8(ascii: "\n") {
            advance()
            if b == UInt8(ascii: "\"") { break }
            if b == UInt8(ascii: "\\"), let escaped = peek() {
                advance()
                switch escaped {
                case UInt8(ascii: "n"): value.append(0x0A)
                case UInt8(ascii: "t"): value.append(0x09)
                case UInt8(ascii: "r"): value.append(0x0D)
                default: value.append(escaped)
                }
            } else {
                value.append(b)
            }
        }
        return String(decoding: value, as: UTF8.self)
    }

    /// Reads a `'…'` string: no escapes.
    mutating func readLiteralString() -> String {
        advance()
        let start = position
        while let b = peek(), b != UInt8(ascii: "'"), b != UInt8(ascii: "\n") { advance() }
        let value = String(decoding: bytes[start..<position], as: UTF8.self)
        if peek() == UInt8(ascii: "'") { advance() }
        return value
    }

    /// Skips `"""…"""` or `'''…'''`; the closing delimiter may be followed by up to two more
    /// quotes that belong to the content.
    mutating func skipMultilineString(quote: UInt8) {
        advance(3)
        while let b = peek() {
            if quote == UInt8(ascii: "\"") && b == UInt8(ascii: "\\") { advance(2); continue }
            if b == quote && peek(1) == quote && peek(2) == quote {
                advance(3)
                var extra = 0
                while extra < 2 && peek() == quote { advance(); extra += 1 }
                return
            }
            advance()
        }
    }

    mutating func skipBlank() {
        while let b = peek(), b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") { advance() }
    }

    /// Blanks, newlines and comments.
    mutating func skipTrivia() {
        while let b = peek() {
            if b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r") || b == UInt8(ascii: "\n") {
                advance()
            } else if b == UInt8(ascii: "#") {
                while let c = peek(), c != UInt8(ascii: "\n") { advance() }
            } else {
                return
            }
        }
    }

    mutating func skipToEndOfLine() {
        while let b = peek(), b != UInt8(ascii: "\n") { advance() }
    }
}
