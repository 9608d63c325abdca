import Glibc
import LinuxSystem

/// Where users, groups and group membership come from. The agent uses `SystemAccountDirectory`
/// (NSS); tests inject their own table, so assignment rules are checked without root.
///
/// Lookups return nil for an account that does not exist and throw when the directory cannot
/// answer, because "nobody by that name" and "the domain controller is down" must lead to
/// different actions (the second must not deregister anyone's apps).
public protocol AccountDirectory: Sendable {
    func user(named name: String) throws -> UserRecord?
    func user(id uid: uid_t) throws -> UserRecord?
    func group(named name: String) throws -> GroupRecord?
    func group(id gid: gid_t) throws -> GroupRecord?
    /// Every group the user is in, primary group included.
    func groupIDs(of user: UserRecord) throws -> [gid_t]
}

/// The host's accounts through NSS (`getpwnam_r`, `getpwuid_r`, `getgrnam_r`, `getgrgid_r`,
/// `getgrouplist`), so local, SSSD/AD and winbind accounts resolve alike.
public struct SystemAccountDirectory: AccountDirectory {
    public init() {}

    public func user(named name: String) throws -> UserRecord? { try Accounts.user(named: name) }
    public func user(id uid: uid_t) throws -> UserRecord? { try Accounts.user(id: uid) }
    public func group(named name: String) throws -> GroupRecord? { try Accounts.group(named: name) }
    public func group(id gid: gid_t) throws -> GroupRecord? { try Accounts.group(id: gid) }
    public func groupIDs(of user: UserRecord) throws -> [gid_t] {
        // By the canonical name NSS returned: membership lists use it, not an alias.
        Accounts.groupIDs(ofUser: user.name, primaryGroup: user.gid)
    }
}

/// A user that the account directory does not know.
public struct UnknownUserError: AppAttachError, Equatable {
    /// The name or uid asked for.
    public let user: String

    public init(user: String) { self.user = user }

    public var description: String { "no user '\(user)' is known to NSS" }
}
