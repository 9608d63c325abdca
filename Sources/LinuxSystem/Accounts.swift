import Glibc

/// Looks up users and groups through NSS (`getpwnam_r`, `getgrnam_r`), so local, SSSD/AD and
/// winbind accounts all resolve the same way.
public enum Accounts {
    /// The numeric id of group `name`, or of `name` itself if it is a number; nil if unknown.
    public static func groupID(named name: String) -> gid_t? {
        if let n = gid_t(name) { return n }
        var group = Glibc.group()
        var result: UnsafeMutablePointer<Glibc.group>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        let rc = getgrnam_r(name, &group, &buffer, buffer.count, &result)
        guard rc == 0, result != nil else { return nil }
        return group.gr_gid
    }

    /// The numeric id of user `name`, or of `name` itself if it is a number; nil if unknown.
    public static func userID(named name: String) -> uid_t? {
        if let n = uid_t(name) { return n }
        var passwd = Glibc.passwd()
        var result: UnsafeMutablePointer<Glibc.passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        let rc = getpwnam_r(name, &passwd, &buffer, buffer.count, &result)
        guard rc == 0, result != nil else { return nil }
        return passwd.pw_uid
    }
}
