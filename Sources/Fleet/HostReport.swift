import Foundation
import Health

/// What one session host says about itself on the share, in `<share>/hosts/<host>.json`:
/// written by its agent when anything changes and every minute, read by
/// `appattachctl hostpool status`. Only the host's own agent writes its file.
public struct HostReport: Codable, Sendable, Equatable {
    /// The version of this layout; readers skip files of a newer major one.
    public static let currentFormat = 1

    /// One staged image, with the packages exposed from it.
    public struct Image: Codable, Sendable, Equatable {
        /// The image's id on the host (stable for the same file).
        public var id: String
        /// The image as the host-pool file names it (relative to the share), when it is on the share.
        public var image: String
        public var packages: [Package]
        public init(id: String, image: String, packages: [Package]) {
            self.id = id; self.image = image; self.packages = packages
        }
    }

    /// One package of a staged image.
    public struct Package: Codable, Sendable, Equatable {
        public var fullName: String
        /// Users who have it registered on this host now.
        public var users: Int
        public init(fullName: String, users: Int) { self.fullName = fullName; self.users = users }
    }

    /// The host-pool file that was last applied: its modification time and size on the share.
    public struct AppliedHostPool: Codable, Sendable, Equatable {
        public var modified: Date
        public var size: Int
        public var appliedAt: Date
        public init(modified: Date, size: Int, appliedAt: Date) {
            self.modified = modified; self.size = size; self.appliedAt = appliedAt
        }
    }

    public var format: Int
    /// The host's name (its kernel host name).
    public var host: String
    public var agentVersion: String
    public var pool: String
    public var health: HealthReport
    /// The host-pool file in force; nil before the first good read.
    public var hostPool: AppliedHostPool?
    /// Why the file on the share is not the one in force, when it is not.
    public var hostPoolProblem: String?
    public var images: [Image]
    public var signedInUsers: Int
    public var registeredUsers: Int
    public var reportedAt: Date

    public init(host: String, agentVersion: String, pool: String, health: HealthReport, hostPool: AppliedHostPool?,
                hostPoolProblem: String?, images: [Image], signedInUsers: Int, registeredUsers: Int, reportedAt: Date) {
        format = Self.currentFormat
        self.host = host; self.agentVersion = agentVersion; self.pool = pool; self.health = health
        self.hostPool = hostPool; self.hostPoolProblem = hostPoolProblem; self.images = images
        self.signedInUsers = signedInUsers; self.registeredUsers = registeredUsers; self.reportedAt = reportedAt
    }

    /// The report without its time: two reports that say the same have equal contents.
    public var contents: HostReport {
        var copy = self
        copy.reportedAt = Date(timeIntervalSince1970: 0)
        return copy
    }

    /// The JSON written to the share (sorted keys, ISO 8601 times).
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return Array(try encoder.encode(self)) + [0x0A]
    }

    /// A report read from the share.
    public static func decode(_ bytes: [UInt8]) throws -> HostReport {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(HostReport.self, from: Data(bytes))
    }
}
