import Glibc
import LinuxSystem

/// A package a user gets, and why.
public struct Assignment: Sendable, Equatable {
    public var entry: PackageEntry
    /// The `users` entry that names the user, if any.
    public var viaUser: String?
    /// The `groups` entries the user is a member of.
    public var viaGroups: [String]

    public init(entry: PackageEntry, viaUser: String?, viaGroups: [String]) {
        self.entry = entry
        self.viaUser = viaUser
        self.viaGroups = viaGroups
    }
}

/// Decides which active packages of a host pool a user gets: those whose `users` name the user
/// or whose `groups` include a group the user is in (through any NSS source).
///
/// Names in the file are resolved to ids through the directory and compared by id, so aliases
/// that NSS accepts (`ALICE`, `alice@corp.example`, `CORP\alice`) match the account they name,
/// and a number is taken as a uid or gid. Entries that NSS does not know match nobody.
public struct AssignmentResolver: Sendable {
    public let definition: HostPoolDefinition
    public let directory: any AccountDirectory

    public init(definition: HostPoolDefinition, directory: any AccountDirectory = SystemAccountDirectory()) {
        self.definition = definition
        self.directory = directory
    }

    /// The active packages of user `name`. Throws `UnknownUserError` if NSS does not know them.
    public func assignments(forUserNamed name: String) throws -> [Assignment] {
        guard let user = try directory.user(named: name) else { throw UnknownUserError(user: name) }
        return try assignments(for: user)
    }

    /// The active packages of the user with id `uid`.
    public func assignments(forUID uid: uid_t) throws -> [Assignment] {
        guard let user = try directory.user(id: uid) else { throw UnknownUserError(user: String(uid)) }
        return try assignments(for: user)
    }

    /// The active packages of `user`, in file order.
    public func assignments(for user: UserRecord) throws -> [Assignment] {
        let memberOf = Set(try directory.groupIDs(of: user)).union([user.gid])
        var ids = IDCache(directory: directory)
        var result: [Assignment] = []
        for entry in definition.activePackages {
            var viaUser: String?
            for name in entry.users {
                if try name == user.name || ids.uid(of: name) == user.uid {
                    viaUser = name
                    break
                }
            }
            var viaGroups: [String] = []
            for name in entry.groups {
                if let gid = try ids.gid(of: name), memberOf.contains(gid) { viaGroups.append(name) }
            }
            if viaUser != nil || !viaGroups.isEmpty {
                result.append(Assignment(entry: entry, viaUser: viaUser, viaGroups: viaGroups))
            }
        }
        return result
    }
}

/// Name-to-id lookups for one resolution: the same group usually appears in many entries, and
/// each NSS lookup may be a network round trip.
struct IDCache {
    let directory: any AccountDirectory
    private var uids: [String: uid_t?] = [:]
    private var gids: [String: gid_t?] = [:]

    init(directory: any AccountDirectory) { self.directory = directory }

    mutating func uid(of name: String) throws -> uid_t? {
        if let cached = uids[name] { return cached }
        let id: uid_t? = try Self.isNumber(name) ? uid_t(name) : directory.user(named: name)?.uid
        uids[name] = id
        return id
    }

    mutating func gid(of name: String) throws -> gid_t? {
        if let cached = gids[name] { return cached }
        let id: gid_t? = try Self.isNumber(name) ? gid_t(name) : directory.group(named: name)?.gid
        gids[name] = id
        return id
    }

    static func isNumber(_ name: String) -> Bool { !name.isEmpty && name.allSatisfy { $0.isASCII && $0.isNumber } }
}
