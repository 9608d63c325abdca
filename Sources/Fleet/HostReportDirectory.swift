import Foundation
import Glibc
import LinuxSystem

/// `<share>/hosts/`: one report per host, each written by that host alone, atomically (a
/// temporary name then a rename, so readers never see half a file and many hosts may write
/// at once), read by the fleet view. Files are small: one larger than `maximumSize` is refused.
public struct HostReportDirectory: Sendable {
    public static let name = "hosts"
    /// A report of thousands of packages is a few hundred KiB; more is not a report.
    public static let maximumSize = 4 << 20

    public let path: String

    public init(share: String) {
        var root = share
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        path = root + "/" + Self.name
    }

    /// The report's file name for `host`: the host name with anything but letters, digits,
    /// `-`, `_` and `.` replaced, never hidden, never empty.
    public static func fileName(host: String) -> String {
        var name = String(host.unicodeScalars.prefix(200).map { scalar -> Character in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "-_.".unicodeScalars.contains(scalar)) ? Character(scalar) : "_"
        })
        while name.hasPrefix(".") { name.removeFirst() }
        return (name.isEmpty ? "unnamed" : name) + ".json"
    }

    /// Writes `report` as this host's file (creating the directory if need be). Not synced:
    /// the next report replaces it within a minute anyway.
    public func write(_ report: HostReport) throws {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw SystemCallError("mkdir", path)
        }
        let file = path + "/" + Self.fileName(host: report.host)
        do {
            try AtomicOutput.write(try report.encoded(), to: file, mode: 0o644, durable: false)
        } catch let error as SystemCallError {
            // Named after the report, not the random temporary name: the same failure reads the same.
            throw SystemCallError(error.call, file, errno: error.errno)
        }
    }

    /// One file of the directory, read.
    public struct Entry: Sendable {
        public var file: String
        public var report: Result<HostReport, ReportError>
    }

    /// Why a file could not be read as a report.
    public struct ReportError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Every report in the directory (none when it does not exist), by file name. A file that
    /// is not a regular file, is too large or is not a report is listed with the reason.
    public func readAll() throws -> [Entry] {
        guard let directory = try Self.openIfPresent(path) else { return [] }
        return try directory.names().filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted().map { name in
            Entry(file: name, report: Self.read(name, in: directory))
        }
    }

    private static func openIfPresent(_ path: String) throws -> OpenDirectory? {
        do {
            return try OpenDirectory.open(path)
        } catch {
            if error.errno == ENOENT { return nil }
            throw error
        }
    }

    private static func read(_ name: String, in directory: OpenDirectory) -> Result<HostReport, ReportError> {
        let bytes: [UInt8]?
        do {
            bytes = try directory.readSmallFile(name, limit: maximumSize)
        } catch {
            return .failure(ReportError(description: "\(error)"))
        }
        guard let bytes else { return .failure(ReportError(description: "removed while it was read")) }
        do {
            return .success(try HostReport.decode(bytes))
        } catch {
            return .failure(ReportError(description: "not a host report: \(error)"))
        }
    }
}
