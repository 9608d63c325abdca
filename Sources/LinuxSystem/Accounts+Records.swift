import Glibc

/// A user account as NSS returns it (`struct passwd`).
public struct UserRecord: Sendable, Equatable {
    /// The canonical name NSS gives back, which may differ in case or domain from the name
    /// asked for (SSSD and winbind accept `alice`, `ALICE` and `alice@corp`).
    public var name: String
    public var uid: uid_t
    /// The primary group.
    public var gid: gid_t
    public var home: String

    public init(name: String, uid: uid_t, gid: gid_t, home: String) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.home = home
    }
}

/// A group as NSS returns it (`struct group`).
public struct GroupRecord: Sendable, Equatable {
    public var name: String
    public var gid: gid_t

    public init(name: String, gid: gid_t) {
        self.name = name
        self.gid = gid
    }
}

extension Accounts {
    /// The user called `name`, or nil if NSS knows no such user. Throws when NSS itself fails
    /// (an unreachable directory), so that callers never mistake an outage for "no such user".
    /// The corresponding C function is `getpwnam_r`.
    public static func user(named name: String) throws(SystemCallError) -> UserRecord? {
        try lookUpUser("getpwnam_r", name) { entry, buffer, size, result in getpwnam_r(name, entry, buffer, size, result) }
    }

    /// The user with id `uid`, or nil if NSS knows none. The corresponding C function is `getpwuid_r`.
    public static func user(id uid: uid_t) throws(SystemCallError) -> UserRecord? {
        try lookUpUser("getpwuid_r", String(uid)) { entry, buffer, size, result in getpwuid_r(uid, entry, buffer, size, result) }
    }

    /// The group called `name`, or nil. The corresponding C function is `getgrnam_r`.
    public static func group(named name: String) throws(SystemCallError) -> GroupRecord? {
        try lookUpGroup("getgrnam_r", name) { entry, buffer, size, result in getgrnam_r(name, entry, buffer, size, result) }
    }

    /// The group with id `gid`, or nil. The corresponding C function is `getgrgid_r`.
    public static func group(id gid: gid_t) throws(SystemCallError) -> GroupRecord? {
        try lookUpGroup("getgrgid_r", String(gid)) { entry, buffer, size, result in getgrgid_r(gid, entry, buffer, size, result) }
    }

    /// Every group `user` is in, primary group included, from all NSS sources (files, SSSD,
    /// winbind), which is what the kernel will give the user's processes at sign-in.
    /// The corresponding C function is `getgrouplist`.
    public static func groupIDs(ofUser user: String, primaryGroup: gid_t) -> [gid_t] {
        var count: Int32 = 64
        while true {
            var groups = [gid_t](repeating: 0, count: Int(count))
            var found = count
            if getgrouplist(user, primaryGroup, &groups, &found) != -1 {
                return Array(groups.prefix(Int(found)))
            }
            // -1 means the array was too small; `found` now holds the size needed (glibc).
            count = max(found, count * 2)
        }
    }

    /// Errors that `get*_r` functions return for "no such entry", depending on the NSS module
    /// (getpwnam_r(3): "0 or ENOENT or ESRCH or EBADF or EPERM or ...").
    static let notFoundErrors: Set<Int32> = [0, ENOENT, ESRCH, EBADF, EPERM]

    /// Calls a `get*_r` function with a buffer that grows while it reports `ERANGE`; returns
    /// whether an entry was found.
    private static func withGrowingBuffer<Entry>(
        _ call: String, _ subject: String, entry: inout Entry,
        _ body: (UnsafeMutablePointer<Entry>, UnsafeMutablePointer<CChar>, Int, UnsafeMutablePointer<UnsafeMutablePointer<Entry>?>) -> Int32
    ) throws(SystemCallError) -> Bool {
        var size = 4096
        while true {
            var buffer = [CChar](repeating: 0, count: size)
            var result: UnsafeMutablePointer<Entry>?
            let rc = body(&entry, &buffer, size, &result)
            if rc == ERANGE && size < 1 << 24 { size *= 2; continue }
            // The entry's strings point into `buffer`, so `body` copies what it needs before
            // returning; nothing here outlives this iteration.
            if rc == 0 && result != nil { return true }
            if notFoundErrors.contains(rc) { return false }
            throw SystemCallError(call, subject, errno: rc)
        }
    }

    private static func lookUpUser(
        _ call: String, _ subject: String,
        _ body: (UnsafeMutablePointer<Glibc.passwd>, UnsafeMutablePointer<CChar>, Int, UnsafeMutablePointer<UnsafeMutablePointer<Glibc.passwd>?>) -> Int32
    ) throws(SystemCallError) -> UserRecord? {
        var record: UserRecord?
        var entry = Glibc.passwd()
        _ = try withGrowingBuffer(call, subject, entry: &entry) { entryPointer, buffer, size, result in
            let rc = body(entryPointer, buffer, size, result)
            if rc == 0, let found = result.pointee {
                record = UserRecord(name: String(cString: found.pointee.pw_name), uid: found.pointee.pw_uid,
                                    gid: found.pointee.pw_gid,
                                    home: found.pointee.pw_dir.map { String(cString: $0) } ?? "")
            }
            return rc
        }
        return record
    }

    private static func lookUpGroup(
        _ call: String, _ subject: String,
        _ body: (UnsafeMutablePointer<Glibc.group>, UnsafeMutablePointer<CChar>, Int, UnsafeMutablePointer<UnsafeMutablePointer<Glibc.group>?>) -> Int32
    ) throws(SystemCallError) -> GroupRecord? {
        var record: GroupRecord?
        var entry = Glibc.group()
        _ = try withGrowingBuffer(call, subject, entry: &entry) { entryPointer, buffer, size, result in
            let rc = body(entryPointer, buffer, size, result)
            if rc == 0, let found = result.pointee {
                record = GroupRecord(name: String(cString: found.pointee.gr_name), gid: found.pointee.gr_gid)
            }
            return rc
        }
        return record
    }
}
