import Foundation
import GRDB

/// A row of `accounts`: which account a uid's app data (`<state>/users/<uid>/`) and
/// registrations belong to, and since when the agent has seen that account missing.
///
/// The account is told apart by its name as NSS gives it: when another name holds the uid,
/// the data is not that account's and is never handed to it. NSS offers nothing more that
/// tells a deleted account from a re-created one of the same name and uid (see
/// `AgentCore.claimAppData`), so within the retention period such an account counts as the
/// same one coming back.
public struct AccountRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "accounts"

    public var uid: UInt32
    /// The account's name when the agent recorded it.
    public var userName: String
    /// When the agent recorded the account as the owner.
    public var recordedAt: Date
    /// When the agent first found no account with this uid (NSS); nil while it exists. Kept
    /// across restarts: the retention period counts from here.
    public var missingSince: Date?

    public init(uid: UInt32, userName: String, recordedAt: Date, missingSince: Date? = nil) {
        self.uid = uid
        self.userName = userName
        self.recordedAt = recordedAt
        self.missingSince = missingSince
    }

    enum CodingKeys: String, CodingKey {
        case uid, userName = "user_name", recordedAt = "recorded_at", missingSince = "missing_since"
    }

    /// Typed columns for queries.
    public enum Columns {
        public static let uid = Column(CodingKeys.uid)
        public static let userName = Column(CodingKeys.userName)
        public static let missingSince = Column(CodingKeys.missingSince)
    }
}
