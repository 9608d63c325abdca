import Glibc
import LinuxSystem

/// Makes an unpacked tree read-only and owned by root, readable by everyone or by one group.
///
/// Like MSIXMGR's `-applyACLs`, but with POSIX ACLs: nobody may write (the image is read-only
/// anyway; this keeps a copy made from it honest), `root` owns every entry, and either every user
/// may read and execute, or only the members of one group (`u::r-x,g::---,g:GID:r-x,m::r-x,o::---`,
/// also as the default ACL of each directory). The staging agent later narrows access further
/// with an ACL on the package's mount point.
public struct PackageTreePermissions: Sendable {
    /// The group allowed to read, or nil for everyone.
    public let readersGroup: gid_t?
    /// Whether to `chown` to root (needs root; mkfs.erofs `--all-root` covers the other case).
    public let makeRootOwner: Bool

    public init(readersGroup: gid_t?, makeRootOwner: Bool) {
        self.readersGroup = readersGroup
        self.makeRootOwner = makeRootOwner
    }

    /// The ACL for a directory or an executable (`r-x`), or a plain file (`r--`).
    public func acl(executable: Bool) throws -> AccessControlList {
        let perm = executable ? "r-x" : "r--"
        if let gid = readersGroup {
            return try AccessControlList("u::\(perm),g::---,g:\(gid):\(perm),m::\(perm),o::---")
        }
        return try AccessControlList("u::\(perm),g::\(perm),o::\(perm)")
    }

    /// Applies ownership and ACLs to `root` and everything below it. Returns the entry count.
    @discardableResult
    public func apply(to root: String) throws -> Int {
        let dirACL = try acl(executable: true)
        let fileACL = try acl(executable: false)
        var count = 0
        try walk(root) { path, st in
            count += 1
            if makeRootOwner {
                try retryingOnInterrupt("chown", path) { lchown(path, 0, 0) }
            }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                try dirACL.apply(to: path)
                if readersGroup != nil { try dirACL.apply(to: path, as: .default) }
            case S_IFREG:
                let executable = st.st_mode & 0o111 != 0
                try (executable ? dirACL : fileACL).apply(to: path)
            default:
                // The unpacker only creates directories and regular files.
                throw ExpandError("\(path): unexpected file type in the unpacked package")
            }
        }
        return count
    }

    /// Depth-first walk with `lstat`, parents before children. Symlinks are never followed.
    private func walk(_ path: String, _ visit: (String, stat) throws -> Void) throws {
        var st = stat()
        try retryingOnInterrupt("stat", path) { lstat(path, &st) }
        try visit(path, st)
        guard st.st_mode & S_IFMT == S_IFDIR else { return }
        let names = try DirectoryListing.names(path)
        for name in names { try walk(path + "/" + name, visit) }
    }
}
