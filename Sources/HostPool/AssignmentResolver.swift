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
///
/// Only the entries that can name the user are looked at (`HostPoolIndex`): those holding the
/// user's name, uid, or the name or gid of one of their groups. So resolving a user costs one
/// `getgrouplist`, one group look-up per group of theirs and the look-ups of their own entries'
/// names, however many packages and names the pool has; a name NSS cannot resolve in another
/// user's entry does not hold up this user's sign-in.
public struct AssignmentResolver: Sendable {
    public let index: HostPoolIndex
    public let directory: any AccountDirectory

    /// The definition resolved against.
    public var definition: HostPoolDefinition { index.definition }

    /// A resolver for one use: indexes `definition` (the agent keeps one index per load instead).
    public init(definition: HostPoolDefinition, directory: any AccountDirectory = SystemAccountDirectory()) {
        self.init(index: HostPoolIndex(definition), directory: directory)
    }

    public init(index: HostPoolIndex, directory: any AccountDirectory = SystemAccountDirectory()) {
        self.index = index
        self.directory = directory
    }

    /// The active packages of user `name`. Throws `UnknownUserError` if NSS does not know them.
    public func assignments(forUserNamed name: String) throws -> [Assignment] {
        guard let user = try directory.user(named: name) else { throw UnknownUserError(user: name) }
        return try assignments(for: user)
    }

    /// The active packages of the user with id `uid`, names resolved through `ids` (one cache
    /// for a whole registration: the gates use it too).
    public func assignments(forUID uid: uid_t, ids: inout IDCache) throws -> [Assignment] {
        guard let user = try directory.user(id: uid) else { throw UnknownUserError(user: String(uid)) }
        return try assignments(for: user, ids: &ids)
    }

    /// The active packages of the user with id `uid`.
    public func assignments(forUID uid: uid_t) throws -> [Assignment] {
        var ids = IDCache(directory: directory)
        return try assignments(forUID: uid, ids: &ids)
    }

    /// The active packages of `user`, in file order.
    public func assignments(for user: UserRecord) throws -> [Assignment] {
        var ids = IDCache(directory: directory)
        return try assignments(for: user, ids: &ids)
    }

    /// The active packages of `user`, in file order, names resolved through `ids`.
    public func assignments(for user: UserRecord, ids: inout IDCache) throws -> [Assignment] {
        let memberOf = Set(try directory.groupIDs(of: user)).union([user.gid])
        let userKeys: Set<String> = [HostPoolIndex.key(user.name), String(user.uid)]
        var groupKeys = Set(memberOf.map { String($0) })
        if index.namesGroups {
            for gid in memberOf { if let name = try ids.groupName(of: gid) { groupKeys.insert(HostPoolIndex.key(name)) } }
        }
        var candidates = Set<Int>()
        for key in userKeys { candidates.formUnion(index.entries(withUserKey: key)) }
        for key in groupKeys { candidates.formUnion(index.entries(withGroupKey: key)) }

        var result: [Assignment] = []
        for position in candidates.sorted() {
            let entry = index.activeEntries[position]
            var viaUser: String?
            for name in entry.users where userKeys.contains(HostPoolIndex.key(name)) {
                if try name == user.name || ids.uid(of: name) == user.uid {
                    viaUser = name
                    break
                }
            }
            var viaGroups: [String] = []
            for name in entry.groups where groupKeys.contains(HostPoolIndex.key(name)) {
                if let gid = try ids.gid(of: name), memberOf.contains(gid) { viaGroups.append(name) }
            }
            if viaUser != nil || !viaGroups.isEmpty {
                result.append(Assignment(entry: entry, viaUser: viaUser, viaGroups: viaGroups))
            }
        }
        return result
    }
}

/// Name-to-id look-ups for one resolution (a registration, a gate update): the same group
/// usually appears in many entries, and each NSS look-up may be a network round trip.
public struct IDCache {
    public let directory: any AccountDirectory
    private var uids: [String: uid_t?] = [:]
    private var gids: [String: gid_t?] = [:]
    private var groupNames: [gid_t: String?] = [:]

    public init(directory: any AccountDirectory) { self.directory = directory }

    /// The uid a user name (or number) stands for; nil when NSS knows none.
    public mutating func uid(of name: String) throws -> uid_t? {
        if let cached = uids[name] { return cached }
        let id: uid_t? = try Self.isNumber(name) ? uid_t(name) : directory.user(named: name)?.uid
        uids[name] = id
        return id
    }

    /// The gid a group name (or number) stands for; nil when NSS knows none.
    public mutating func gid(of name: String) throws -> gid_t? {
        if let cached = gids[name] { return cached }
        let id: gid_t? = try Self.isNumber(name) ? gid_t(name) : directory.group(named: name)?.gid
        gids[name] = id
        return id
    }

    /// The name of group `gid`; nil when NSS knows none.
    public mutating func groupName(of gid: gid_t) throws -> String? {
        if let cached = groupNames[gid] { return cached }
        let name = try directory.group(id: gid)?.name
        groupNames[gid] = name
        return name
    }

    /// True for a name that is all ASCII digits: a uid or gid.
    public static func isNumber(_ name: String) -> Bool { !name.isEmpty && name.allSatisfy { $0.isASCII && $0.isNumber } }
}
