import Glibc
import LinuxSystem

/// Builds a read-only filesystem image file from a directory tree with the distribution's
/// own tools: `mkfs.erofs` (erofs-utils) or `mkfs.ext4 -d` (e2fsprogs). Both keep POSIX ACLs.
public struct FilesystemBuilder: Sendable {
    /// Which filesystem to build.
    public let kind: ImageFilesystem
    /// Filesystem UUID (lower-case, dashed), so that the same input gives the same image id.
    public let uuid: String
    /// Volume label (ext4 only; at most 16 bytes).
    public let label: String

    public init(kind: ImageFilesystem, uuid: String, label: String = "appattach") {
        self.kind = kind
        self.uuid = uuid
        self.label = label
    }

    /// Builds the filesystem for `tree` into the file `output` (created or replaced).
    /// `minimumSize` (bytes) is honoured for ext4, whose size must be chosen up front.
    public func build(tree: String, output: String, minimumSize: UInt64? = nil) throws {
        switch kind {
        case .erofs:
            // --all-root: root owns everything even when an unprivileged admin expands.
            // -T: one timestamp for all files, so that rebuilding gives the same bytes.
            try ExternalCommand("mkfs.erofs", [
                "--quiet", "--all-root", "-T\(Self.timestamp)", "-U\(uuid)", output, tree,
            ], package: "erofs-utils").run()
        case .ext4:
            let usage = try TreeUsage.measure(tree)
            let size = max(usage.ext4Estimate, minimumSize ?? 0)
            unlink(output)
            // No journal and no reserved blocks: the image is only ever mounted read-only.
            // 4 KiB blocks so that a loop device may use direct I/O with 4 KiB logical blocks.
            try ExternalCommand("mkfs.ext4", [
                "-q", "-F", "-t", "ext4", "-b", "4096", "-m", "0",
                "-O", "^has_journal,^resize_inode", "-N", String(usage.entries + 64),
                "-L", label, "-U", uuid, "-E", "root_owner=0:0", "-d", tree,
                output, "\(size / 1024)k",
            ], package: "e2fsprogs").run()
        }
    }

    /// SOURCE_DATE_EPOCH if set (reproducible builds), else the current time.
    static var timestamp: Int {
        if let env = getenv("SOURCE_DATE_EPOCH"), let n = Int(String(cString: env)) { return n }
        return time(nil)
    }
}

/// How much space a tree needs, counted in 4 KiB blocks.
struct TreeUsage {
    var entries: Int = 0
    var dataBlocks: UInt64 = 0

    /// A size for ext4 that always fits: data, one block per directory, inode tables, bitmaps,
    /// group descriptors and a margin, rounded up to MiB.
    var ext4Estimate: UInt64 {
        let blocks = dataBlocks + UInt64(entries) + UInt64(entries + 64) * 256 / 4096
        let bytes = blocks * 4096 + blocks * 4096 / 20 + 8 << 20
        return (bytes + (1 << 20) - 1) & ~((1 << 20) - 1)
    }

    static func measure(_ root: String) throws -> TreeUsage {
        var usage = TreeUsage()
        try visit(root, &usage)
        return usage
    }

    private static func visit(_ path: String, _ usage: inout TreeUsage) throws {
        var st = stat()
        try retryingOnInterrupt("stat", path) { lstat(path, &st) }
        usage.entries += 1
        usage.dataBlocks += (UInt64(st.st_size) + 4095) / 4096
        guard st.st_mode & S_IFMT == S_IFDIR, let dir = opendir(path) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = DirectoryListing.name(of: entry)
            if name != "." && name != ".." { try visit(path + "/" + name, &usage) }
        }
    }
}
