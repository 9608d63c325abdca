import Glibc

/// Reading directories with `opendir`/`readdir`, without Foundation's FileManager (which
/// follows symlinks and costs more than the few entries appattach reads on hot paths).
public enum DirectoryListing {
    /// The names in `directory`, without `.` and `..`, in the order the filesystem returns them.
    public static func names(_ directory: String) throws -> [String] {
        guard let dir = opendir(directory) else { throw SystemCallError("opendir", directory) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = name(of: entry)
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The name of a `readdir` entry.
    public static func name(of entry: UnsafeMutablePointer<dirent>) -> String {
        withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
