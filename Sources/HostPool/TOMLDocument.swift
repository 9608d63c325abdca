import Foundation
import LinuxSystem
import TOMLKit

/// A TOML file read and parsed, with what is needed to name the line of any later complaint.
///
/// Syntax errors come from TOMLKit with their position; semantic errors found while reading
/// values are placed with a `TOMLSourceMap`, built only when an error is reported.
struct TOMLDocument {
    /// The file's name as error messages show it.
    let displayName: String
    let text: String
    let root: TOMLTable

    /// Configuration files are small; a bigger one is a mistake (or not a configuration file),
    /// and refusing it keeps a bad share from making every host read megabytes.
    static let maximumSize = 1 << 20

    /// Reads and parses `path`, naming it `displayName` in errors.
    static func load(path: String, displayName: String) throws(ConfigurationError) -> TOMLDocument {
        let bytes: [UInt8]
        do {
            // Without waiting: a FIFO where the file should be would hold the agent's start.
            let file = try OpenFile.openForReadingWithoutWaiting(path)
            let status = try file.status()
            // A directory or a device where the file should be is not an empty file: over a
            // FUSE share a directory reads as no bytes, which would be an empty pool.
            guard status.st_mode & S_IFMT == S_IFREG else {
                throw ConfigurationError(file: displayName, line: nil, message: "is not a regular file", unreadable: true)
            }
            let size = UInt64(status.st_size)
            guard size <= UInt64(maximumSize) else {
                throw ConfigurationError(file: displayName, line: nil,
                                         message: "is \(size) bytes, larger than the \(maximumSize) bytes a configuration file may have")
            }
            bytes = try file.read(count: Int(size), at: 0)
        } catch let error as ConfigurationError {
            throw error
        } catch let error as SystemCallError {
            throw ConfigurationError(file: displayName, line: nil, message: "cannot \(error.call): \(error.reason)", unreadable: true)
        } catch {
            throw ConfigurationError(file: displayName, line: nil, message: "cannot read: \(error)", unreadable: true)
        }
        return try parse(bytes: bytes, displayName: displayName)
    }

    /// Parses `bytes` as a TOML document named `displayName`.
    static func parse(bytes: [UInt8], displayName: String) throws(ConfigurationError) -> TOMLDocument {
        // TOML is UTF-8 without NUL; TOMLKit takes a C string, so a NUL would silently end the
        // document early, and invalid UTF-8 would be replaced rather than refused.
        if let nul = bytes.firstIndex(of: 0) {
            throw ConfigurationError(file: displayName, line: lineNumber(ofOffset: nul, in: bytes),
                                     message: "contains a NUL byte; TOML files are UTF-8 text")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigurationError(file: displayName, line: firstInvalidUTF8Line(bytes),
                                     message: "is not valid UTF-8 text")
        }
        do {
            return TOMLDocument(displayName: displayName, text: text, root: try TOMLTable(string: text))
        } catch let error as TOMLParseError {
            throw ConfigurationError(file: displayName, line: error.source.begin.line,
                                     message: oneLine(error.description))
        } catch {
            throw ConfigurationError(file: displayName, line: nil, message: oneLine(String(describing: error)))
        }
    }

    /// A reader for the document's root table.
    func rootReader() -> TableReader {
        TableReader(table: root, path: [], keyPrefix: "", document: DocumentContext(self))
    }

    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingWhitespace() }.joined(separator: " ")
    }

    private static func lineNumber(ofOffset offset: Int, in bytes: [UInt8]) -> Int {
        1 + bytes[..<offset].reduce(0) { $1 == 0x0A ? $0 + 1 : $0 }
    }

    /// The line holding the first byte that breaks UTF-8, found by decoding line by line.
    private static func firstInvalidUTF8Line(_ bytes: [UInt8]) -> Int {
        for (n, lineBytes) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated()
        where String(validating: lineBytes, as: UTF8.self) == nil {
            return n + 1
        }
        return 1
    }
}

/// The parts of a document a `TableReader` needs to place errors; the source map is built the
/// first time a line is asked for.
final class DocumentContext {
    let displayName: String
    private let text: String
    private var sourceMap: TOMLSourceMap?

    init(_ document: TOMLDocument) {
        displayName = document.displayName
        text = document.text
    }

    func line(of path: [TOMLSourceMap.Component]) -> Int? {
        if sourceMap == nil { sourceMap = TOMLSourceMap(text) }
        return sourceMap?.line(of: path)
    }

    func error(_ message: String, at path: [TOMLSourceMap.Component]) -> ConfigurationError {
        ConfigurationError(file: displayName, line: line(of: path), message: message)
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    func trimmingWhitespace() -> String {
        var text = self[...]
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return String(text)
    }
}
