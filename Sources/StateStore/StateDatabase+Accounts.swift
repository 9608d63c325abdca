import Foundation
import GRDB

// MARK: - Accounts

extension StateDatabase {
    /// The recorded owner of `uid`'s app data, if any.
    public func account(uid: UInt32) throws -> AccountRecord? {
        try writer.read { db in try AccountRecord.fetchOne(db, key: uid) }
    }

    /// Every recorded account, by uid.
    public func accounts() throws -> [AccountRecord] {
        try writer.read { db in try AccountRecord.order(AccountRecord.Columns.uid).fetchAll(db) }
    }

    /// Records (or replaces) the owner of a uid's app data.
    public func saveAccount(_ account: AccountRecord) throws {
        try writer.write { db in try account.upsert(db) }
    }

    /// Notes that no account has `uid` any more, as of `time`, unless an earlier time is
    /// recorded already (the retention period counts from the first time it was seen missing).
    /// A uid without a row gets one under `userName`. Returns the row as it now is.
    @discardableResult
    public func markAccountMissing(uid: UInt32, userName: String, at time: Date) throws -> AccountRecord {
        try writer.write { db in
            var record = try AccountRecord.fetchOne(db, key: uid) ?? AccountRecord(uid: uid, userName: userName, recordedAt: time)
            if record.missingSince == nil {
                record.missingSince = time
                try record.upsert(db)
            }
            return record
        }
    }

    /// Forgets everything recorded of `uid`: the account row and every registration, and
    /// appends `events`, in one transaction. Returns how many registrations were deleted.
    @discardableResult
    public func forgetAccount(uid: UInt32, events: [EventRecord]) throws -> Int {
        try writer.write { db in
            try AccountRecord.deleteOne(db, key: uid)
            let deleted = try RegistrationRecord.filter(RegistrationRecord.Columns.uid == uid).deleteAll(db)
            for var event in events { try event.insert(db) }
            try pruner?.inserted(events.count, db)
            return deleted
        }
    }
}
