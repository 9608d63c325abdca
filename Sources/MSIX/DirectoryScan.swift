import Foundation
import Glibc

/// The regular files under a directory, for packing: relative paths in a stable order, with
/// sizes and permission bits. Symbolic links and special files are refused because a package
/// can only hold regular files.
struct DirectoryScan {
    struct File {
        /// Relative path with `/` separators.
        let path: String
        let size: UInt64
        let permissions: UInt16
    }

    let root: String
    private(set) var files: [File] = []

    init(root: String) throws(MSIXError) {
        self.root = root
        var st = stat()
        guard stat(root, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw MSIXError(.fileSystem, file: root, "is not a directory")
        }
        try walk("")
    }

    private mutating func walk(_ relative: String) throws(MSIXError) {
        let absolute = relative.isEmpty ? root : root + "/" + relative
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: absolute) } catch {
            throw MSIXError(.fileSystem, file: absolute, "cannot list directory")
        }
        for name in names.sorted() {
            let path = relative.isEmpty ? name : relative + "/" + name
            var st = stat()
            guard lstat(root + "/" + path, &st) == 0 else {
                throw MSIXError(.fileSystem, file: root + "/" + path, "cannot stat: \(String(cString: strerror(errno)))")
            }
            switch st.st_mode & S_IFMT {
            case S_IFDIR: try walk(path)
            case S_IFREG: files.append(File(path: path, size: UInt64(st.st_size), permissions: UInt16(st.st_mode & 0o7777)))
            case S_IFLNK: throw MSIXError(.fileSystem, file: root + "/" + path, "is a symbolic link; a package holds regular files only")
            default: throw MSIXError(.fileSystem, file: root + "/" + path, "is not a regular file")
            }
        }
    }
}
