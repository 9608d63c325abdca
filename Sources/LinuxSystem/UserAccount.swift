import Glibc

/// A user as NSS describes them: the ids and home directory that per-user file work runs with.
public struct UserAccount: Sendable, Equatable, CustomStringConvertible {
    /// The login name.
    public var name: String
    public var uid: uid_t
    /// The primary group.
    public var gid: gid_t
    /// Every group the user is in, the primary one included (`getgrouplist`).
    public var groups: [gid_t]
    /// The home directory from the passwd entry.
    public var home: String

    public init(name: String, uid: uid_t, gid: gid_t, groups: [gid_t], home: String) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.groups = groups
        self.home = home
    }

    public var description: String { "user '\(name)' (\(uid))" }
}

extension UserAccount {
    /// The account of an NSS user record, with every group the user is in (`getgrouplist`).
    public init(_ record: UserRecord) {
        self.init(name: record.name, uid: record.uid, gid: record.gid,
                  groups: Accounts.groupIDs(ofUser: record.name, primaryGroup: record.gid), home: record.home)
    }
}

extension Accounts {
    /// The account named `name` (or with that number) with all its groups, or nil when NSS does
    /// not know it. Throws when NSS itself fails, so an outage never looks like "no such user".
    public static func account(named name: String) throws -> UserAccount? {
        let record = try uid_t(name).map { uid throws(SystemCallError) in try user(id: uid) } ?? user(named: name)
        return record.map(UserAccount.init)
    }

    /// The account with user id `uid`, with all its groups, or nil.
    public static func account(id uid: uid_t) throws -> UserAccount? {
        try user(id: uid).map(UserAccount.init)
    }
}
