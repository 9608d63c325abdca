import Glibc
import LinuxSystem

/// Finds the packages in a mounted image: every folder holding an `AppxManifest.xml`, at the
/// image's root or one level below (the root directory given at expand time). The folder's name
/// is the PackageFullName, as Windows' stager takes it.
enum PackageDiscovery {
    /// (PackageFullName, folder path) pairs, sorted by name.
    static func packages(in root: String) -> [(String, String)] {
        var found: [(String, String)] = []
        for first in subdirectories(of: root) {
            let path = root + "/" + first
            if isPackage(path) {
                found.append((first, path))
                continue
            }
            for second in subdirectories(of: path) where isPackage(path + "/" + second) {
                found.append((second, path + "/" + second))
            }
        }
        return found.sorted { $0.0 < $1.0 }
    }

    /// A PackageFullName is `Name_Version_Arch_ResourceId_PublisherId`: five fields, no slash,
    /// no leading dot, no control character. Anything else in an image is not exposed.
    static func isValidFullName(_ name: String) -> Bool {
        // Counted byte by byte: this runs on every destage, and splitting into an array of
        // substrings makes the runtime instantiate types a short-lived command then pays for.
        var underscores = 0
        for byte in name.utf8 {
            if byte == UInt8(ascii: "/") || byte < 0x20 || byte == 0x7F { return false }
            if byte == UInt8(ascii: "_") { underscores += 1 }
        }
        return !name.hasPrefix(".") && underscores == 4
    }

    /// The name is checked first: it costs no I/O, and a root directory's name (`apps`)
    /// never has the shape of a PackageFullName.
    private static func isPackage(_ dir: String) -> Bool {
        let name = dir.lastIndex(of: "/").map { dir[dir.index(after: $0)...] } ?? dir[...]
        guard isValidFullName(String(name)) else { return false }
        var st = stat()
        return lstat(dir + "/AppxManifest.xml", &st) == 0 && st.st_mode & S_IFMT == S_IFREG
    }

    /// The directories in `dir`, by the type `readdir` reports (ext4, EROFS and SquashFS all
    /// report it; `lstat` only where one says "unknown"). ext4's own `lost+found` is skipped:
    /// reading it on a direct-I/O loop device would cost a disk read per block, for nothing.
    private static func subdirectories(of dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let entry = readdir(d) {
            let type = entry.pointee.d_type
            guard type == UInt8(DT_DIR) || type == UInt8(DT_UNKNOWN) else { continue }
            let name = DirectoryListing.name(of: entry)
            guard name != ".", name != "..", name != "lost+found" else { continue }
            if type == UInt8(DT_UNKNOWN) {
                var st = stat()
                guard lstat(dir + "/" + name, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { continue }
            }
            names.append(name)
        }
        return names
    }
}
