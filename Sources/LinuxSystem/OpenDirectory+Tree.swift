import Glibc

extension OpenDirectory {
    /// Removes `name` and everything below it, never following a symbolic link (a link is
    /// removed as a link). Directories the owner made unreadable (overlayfs leaves its
    /// `work/work` at mode 0) are given mode 0700 first, which only their owner can do.
    /// False when there was nothing.
    @discardableResult
    public func removeTree(_ name: String) throws(SystemCallError) -> Bool {
        guard let st = try status(of: name) else { return false }
        guard st.st_mode & S_IFMT == S_IFDIR else { return try remove(name) }
        let directory: OpenDirectory?
        do {
            directory = try openDirectory(name)
        } catch where error.errno == EACCES {
            try setMode(name, 0o700)
            directory = try openDirectory(name)
        }
        if let directory {
            if st.st_mode & 0o700 != 0o700 { try setMode(name, 0o700) }
            for child in try directory.names() { try directory.removeTree(child) }
        }
        return try remove(name, directory: true)
    }
}
