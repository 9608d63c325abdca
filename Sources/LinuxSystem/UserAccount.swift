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

extension Accounts {
    /// The account named `name` (or with that number), or nil when NSS does not know it.
    /// The corresponding C calls are `getpwnam_r`/`getpwuid_r` and `getgrouplist`.
    public static func user(named name: String) -> UserAccount? {
        lookUp { passwd, buffer, result in
            if let uid = uid_t(name) { return getpwuid_r(uid, &passwd, buffer.baseAddress!, buffer.count, &result) }
            return getpwnam_r(name, &passwd, buffer.baseAddress!, buffer.count, &result)
        }
    }

    /// The account with user id `uid`, or nil.
    public static func user(id uid: uid_t) -> UserAccount? {
        lookUp { passwd, buffer, result in getpwuid_r(uid, &passwd, buffer.baseAddress!, buffer.count, &result) }
    }

    private static func lookUp(
        _ call: (inout passwd, UnsafeMutableBufferPointer<CChar>, inout UnsafeMutablePointer<passwd>?) -> Int32
    ) -> UserAccount? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        let rc = buffer.withUnsafeMutableBufferPointer { call(&entry, $0, &result) }
        guard rc == 0, result != nil, let namePointer = entry.pw_name, let homePointer = entry.pw_dir else { return nil }
        let name = String(cString: namePointer)
        return UserAccount(name: name, uid: entry.pw_uid, gid: entry.pw_gid,
                           groups: groupList(name, entry.pw_gid), home: String(cString: homePointer))
    }

    /// Large directories (AD users in hundreds of groups) overflow a first guess, so grow
    /// the buffer to what `getgrouplist` reports it needs.
    private static func groupList(_ name: String, _ primary: gid_t) -> [gid_t] {
        var count: Int32 = 64
        while true {
            var groups = [gid_t](repeating: 0, count: Int(count))
            let wanted = count
            if getgrouplist(name, primary, &groups, &count) != -1 { return Array(groups.prefix(Int(count))) }
            if count <= wanted { count = wanted * 2 }
            if count > 65_536 { return [primary] }
        }
    }
}
