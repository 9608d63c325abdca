import Glibc
import LinuxSystem

/// A hidden directory beside the output where an image is put together.
///
/// It sits on the same filesystem as the output, so the finished image is moved into place with
/// one atomic `rename`, and the container writer can insert its headers in front of the
/// filesystem without copying it. `remove()` deletes whatever is left, success or failure.
struct WorkDirectory {
    /// The directory itself.
    let path: String
    /// The tree the packages are unpacked into.
    var tree: String { path + "/tree" }
    /// The image file being built.
    var image: String { path + "/image" }

    init(beside output: String) throws {
        let slash = output.lastIndex(of: "/")
        let dir = slash.map { String(output[..<$0]) } ?? "."
        let base = slash.map { String(output[output.index(after: $0)...]) } ?? output
        var template = Array("\(dir.isEmpty ? "/" : dir)/.\(base).expand-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SystemCallError("mkdir", "\(dir)/.\(base).expand-…")
        }
        path = String(cString: made)
        if mkdir(tree, 0o755) != 0 { throw SystemCallError("mkdir", tree) }
    }

    /// Moves the finished image to `output` (atomically replacing an older one), syncing first.
    func publish(to output: String) throws {
        let file = try OpenFile.openForWriting(image, create: false)
        try file.sync()
        try file.close()
        chmod(image, 0o644)
        try retryingOnInterrupt("rename", output) { rename(image, output) }
    }

    /// Deletes the directory and everything in it. Entries may be read-only and root-owned
    /// (that is the point of the tree), so directories are made writable before emptying them.
    func remove() {
        Self.removeTree(path)
    }

    private static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if st.st_mode & S_IFMT == S_IFDIR {
            chmod(path, 0o700)
            for name in (try? DirectoryListing.names(path)) ?? [] { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
