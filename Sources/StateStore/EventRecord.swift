import Foundation
import GRDB

/// A row of `events`: one thing the agent did or saw, kept for history and diagnostics.
public struct EventRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "events"

    /// What kind of event. An open set (not an enum) so that new kinds need no schema change
    /// and old databases with kinds a newer agent dropped still read.
    public struct Kind: RawRepresentable, Codable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let staged = Kind("staged")
        public static let stageFailed = Kind("stage-failed")
        public static let packageRefused = Kind("package-refused")
        public static let destaged = Kind("destaged")
        public static let registered = Kind("registered")
        public static let registrationCompleted = Kind("registration-completed")
        public static let deregistered = Kind("deregistered")
        public static let hostPoolChanged = Kind("hostpool-changed")
        public static let hostPoolRejected = Kind("hostpool-rejected")
        public static let accountDataRemoved = Kind("account-data-removed")
    }

    /// Assigned by SQLite on insert.
    public var id: Int64?
    public var time: Date
    public var kind: Kind
    public var uid: UInt32?
    /// A PackageFullName or family name.
    public var package: String?
    /// An image id.
    public var image: String?
    /// How long the operation took.
    public var durationUsec: Int64?
    public var message: String

    public init(id: Int64? = nil, time: Date, kind: Kind, uid: UInt32? = nil, package: String? = nil,
                image: String? = nil, durationUsec: Int64? = nil, message: String) {
        self.id = id
        self.time = time
        self.kind = kind
        self.uid = uid
        self.package = package
        self.image = image
        self.durationUsec = durationUsec
        self.message = message
    }

    enum CodingKeys: String, CodingKey {
        case id, time, kind, uid, package, image, durationUsec = "duration_usec", message
    }

    /// Typed columns for queries.
    public enum Columns {
        public static let id = Column(CodingKeys.id)
        public static let time = Column(CodingKeys.time)
        public static let kind = Column(CodingKeys.kind)
        public static let uid = Column(CodingKeys.uid)
        public static let package = Column(CodingKeys.package)
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

extension DerivableRequest<EventRecord> {
    /// Newest first; the id breaks ties between events of the same millisecond.
    public func newestFirst() -> Self {
        order(EventRecord.Columns.time.desc, EventRecord.Columns.id.desc)
    }
}
