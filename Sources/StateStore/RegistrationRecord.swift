import Foundation
import GRDB

/// A row of `registrations`: a package registered for a user.
public struct RegistrationRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "registrations"

    /// When the registration is done: all at sign-in, or the menu entry first and the rest at
    /// the first launch.
    public enum Mode: String, Codable, Sendable, CaseIterable {
        case delayed, regular
    }

    /// How far it got: a delayed registration is `partial` until the first launch completes it.
    public enum State: String, Codable, Sendable, CaseIterable {
        case partial, complete
    }

    public var uid: UInt32
    /// The user's name when registered (for messages; the uid is the key).
    public var userName: String
    public var packageFullName: String
    public var mode: Mode
    public var state: State
    public var registeredAt: Date
    public var completedAt: Date?

    public init(uid: UInt32, userName: String, packageFullName: String, mode: Mode, state: State,
                registeredAt: Date, completedAt: Date? = nil) {
        self.uid = uid
        self.userName = userName
        self.packageFullName = packageFullName
        self.mode = mode
        self.state = state
        self.registeredAt = registeredAt
        self.completedAt = completedAt
    }

    enum CodingKeys: String, CodingKey {
        case uid, userName = "user_name", packageFullName = "package_full_name", mode, state,
             registeredAt = "registered_at", completedAt = "completed_at"
    }

    /// Typed columns for queries.
    public enum Columns {
        public static let uid = Column(CodingKeys.uid)
        public static let userName = Column(CodingKeys.userName)
        public static let packageFullName = Column(CodingKeys.packageFullName)
        public static let state = Column(CodingKeys.state)
    }

    public static let package = belongsTo(PackageRecord.self, using: ForeignKey(["package_full_name"]))
}

extension DerivableRequest<RegistrationRecord> {
    /// The registrations of user `uid`, by package.
    public func filter(uid: UInt32) -> Self {
        filter(RegistrationRecord.Columns.uid == uid).order(RegistrationRecord.Columns.packageFullName)
    }

    /// The registrations of package `fullName`, by user.
    public func filter(packageFullName fullName: String) -> Self {
        filter(RegistrationRecord.Columns.packageFullName == fullName).order(RegistrationRecord.Columns.uid)
    }

    /// Registrations waiting for their first launch.
    public func partial() -> Self {
        filter(RegistrationRecord.Columns.state == RegistrationRecord.State.partial.rawValue)
    }
}
