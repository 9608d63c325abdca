import Glibc
import LinuxSystem

/// Copies an overlay upper tree between the layer and the profile, both ways: directories,
/// regular files, symbolic links (as links, never followed), overlayfs whiteouts and opaque
/// directories, modes, modification times, and the `user.*` extended attributes apps write.
/// Other device nodes, FIFOs and sockets are skipped and reported.
///
/// A layer holds what overlayfs makes. A profile copy lives in a home, whose file system may be
/// NFS, SMB or FAT and hold no device nodes, no extended attributes, no links or no modes, so
/// it holds the overlay's marks in portable form, as marker files:
///
/// | in a layer                                         | in a profile copy                              |
/// |----------------------------------------------------|------------------------------------------------|
/// | whiteout `name`: a character device 0/0            | `.wh.<name>`, an empty file (OCI)              |
/// | opaque directory: `user.overlay.opaque` = `y`      | `.wh..wh..opq`, an empty file inside it (OCI)  |
/// | symbolic link `name` -> `target`                   | the link; where the home refuses links (vfat   |
/// |                                                    | `EPERM`, FUSE `ENOSYS`), `.lnk.<name>`: a      |
/// |                                                    | regular file holding `target`, nothing else    |
///
/// `layerToProfile` and `profileToLayer` convert. The other `user.overlay.*` attributes are the
/// overlay's bookkeeping and stay in the layer. A file in a layer whose own name starts with
/// `.wh.` or `.lnk.` would be read back as a marker, so it is not pushed and is reported.
///
/// Where the home cannot keep something that has no marker, the copy goes on and the report
/// says what was lost: `user.*` attributes it refuses (`EOPNOTSUPP`, or `E2BIG`, `ERANGE`,
/// `EPERM`, `ENOSPC` for one it cannot hold) in `droppedAttributes`; modes it refuses or
/// ignores in `modesNotKept`; names it refuses (FAT: `a:b`, or `A` beside `a`) in `skipped`.
///
/// Every name is resolved beneath the directory being walked, one level at a time, without
/// following links: a link in the source is copied as a link, and the destination is made
/// fresh by this copy, so nothing outside the two trees is read or written.
public struct TreeCopy: Sendable {
    /// Deeper trees are refused: one descriptor stays open per level.
    public static let maximumDepth = 128

    /// How a tree spells the overlay's marks (whiteouts, opaque directories) and links.
    public enum WhiteoutForm: Sendable {
        /// As overlayfs makes and reads them: devices 0/0, attributes, links (a layer).
        case device
        /// As marker files where need be (a profile copy).
        case marker
    }

    /// How marks are spelled in the source and in the destination.
    public let sourceWhiteouts: WhiteoutForm, destinationWhiteouts: WhiteoutForm

    /// A copy that reads marks as `source` spells them and writes them as `destination` does.
    public init(from source: WhiteoutForm = .device, to destination: WhiteoutForm = .device) {
        sourceWhiteouts = source
        destinationWhiteouts = destination
    }

    /// From a layer into the profile copy.
    public static let layerToProfile = TreeCopy(from: .device, to: .marker)
    /// From the profile copy into a new layer.
    public static let profileToLayer = TreeCopy(from: .marker, to: .device)

    /// Copies the directory `name` in `source` to the new directory `target` (default: `name`)
    /// in `destination`, which must not exist, with everything below it. Paths in the report
    /// are relative to the copied directory.
    public func copyDirectory(_ name: String, from source: OpenDirectory, to destination: OpenDirectory,
                              as target: String? = nil) throws(SystemCallError) -> Report {
        var report = Report()
        guard let st = try source.status(of: name), st.st_mode & S_IFMT == S_IFDIR else {
            throw SystemCallError("copy (not a directory)", source.display(name), errno: ENOTDIR)
        }
        try copyDirectory(name, st, from: source, to: destination, as: target ?? name, relative: "", depth: 0, &report)
        return report
    }

    private func copyDirectory(_ name: String, _ st: stat, from source: OpenDirectory, to destination: OpenDirectory,
                               as target: String, relative: String, depth: Int, _ report: inout Report) throws(SystemCallError) {
        guard depth < Self.maximumDepth else {
            throw SystemCallError("copy (more than \(Self.maximumDepth) levels)", source.display(name), errno: ELOOP)
        }
        guard let from = try source.openDirectory(name) else { throw SystemCallError("open", source.display(name), errno: ENOENT) }
        guard try makeEntry(relative, &report.skipped, { () throws(SystemCallError) in
            guard mkdirat(destination.descriptor, target, 0o700) == 0 else { throw SystemCallError("mkdir", destination.display(target)) }
        }) else { return }
        guard let to = try destination.openDirectory(target) else { throw SystemCallError("open", destination.display(target), errno: ENOENT) }
        report.otherEntries += 1
        var opaque = false
        for child in try from.names() {
            let path = relative.isEmpty ? child : relative + "/" + child
            // One entry further: a job with a stall limit is alive as long as entries come.
            UserFiles.noteProgress()
            let found: stat?
            do throws(SystemCallError) { found = try from.status(of: child) } catch where error.errno == EXDEV {
                report.skipped.append("\(path) (a mount point: another file system is mounted there, not entered)")
                continue
            }
            guard let cst = found else { continue } // removed meanwhile
            let kind = cst.st_mode & S_IFMT
            if kind == S_IFREG, sourceWhiteouts == .marker,
               try restoreMarker(child, cst, from: from, to: to, opaque: &opaque, &report) {
                continue
            }
            if kind == S_IFREG, destinationWhiteouts == .marker, Self.isReservedInProfile(child) {
                report.skipped.append("\(path) (a name starting with \(Self.markerPrefix) or \(Self.linkMarkerPrefix) marks a deleted file or a link)")
                continue
            }
            switch kind {
            case S_IFDIR:
                try copyDirectory(child, cst, from: from, to: to, as: child, relative: path, depth: depth + 1, &report)
            case S_IFREG:
                var copied = Report()
                guard try makeEntry(path, &report.skipped, { () throws(SystemCallError) in
                    try copyFile(child, cst, from: from, to: to, relative: path, &copied)
                }) else { continue }
                report.add(copied)
                report.files += 1
                report.bytes += UInt64(cst.st_size)
            case S_IFLNK:
                let target = try from.readSymbolicLink(child)
                var made = Report()
                guard try makeEntry(path, &report.skipped, { () throws(SystemCallError) in
                    try makeLink(child, target: target, cst, in: to, &made)
                }) else { continue }
                report.add(made)
                report.otherEntries += 1
            case S_IFCHR where cst.st_rdev == 0:
                guard try makeEntry(path, &report.skipped, { () throws(SystemCallError) in try makeWhiteout(child, cst, in: to) }) else { continue }
                report.otherEntries += 1
            default:
                report.skipped.append("\(path) (\(Self.kindName(cst.st_mode)))")
            }
        }
        if try copyAttributes(from: from.descriptor, to: to.descriptor, source.display(name), relative: relative, &report) {
            opaque = true
        }
        if opaque {
            switch destinationWhiteouts {
            case .marker: try makeMarker(Self.opaqueMarker, contents: [], st, in: to)
            case .device: try setAttribute(Self.opaqueAttribute, Self.opaqueValue, on: to.descriptor, to.path, relative: relative, &report)
            }
        }
        // Mode and times last: the children's creation changed the time, and a read-only
        // mode would have stopped them being made.
        try setMode(to.descriptor, st.st_mode, to.path, relative: relative, &report)
        let times = [st.st_atim, st.st_mtim]
        guard futimens(to.descriptor, times) == 0 else { throw SystemCallError("futimens", to.path) }
    }

    /// The calls that make an entry. Only their failure can be a refused name; they come first
    /// in each entry's making, so a refused entry leaves nothing behind.
    private static let creatingCalls: Set<String> = ["mkdir", "create", "symlink"]

    /// Runs `make`, which makes the entry `path` in a profile copy; false when the home's file
    /// system refused its name (then it is reported and left out). In a layer every failure throws.
    private func makeEntry(_ path: String, _ skipped: inout [String], _ make: () throws(SystemCallError) -> Void) throws(SystemCallError) -> Bool {
        do {
            try make()
            return true
        } catch where destinationWhiteouts == .marker && !path.isEmpty && Self.refusesName(error.errno)
                    && Self.creatingCalls.contains(error.call) {
            skipped.append("\(path) (the home's file system refuses the name: \(error.reason))")
            return false
        }
    }

    private func copyFile(_ name: String, _ st: stat, from source: OpenDirectory, to destination: OpenDirectory,
                          relative: String, _ report: inout Report) throws(SystemCallError) {
        let input = try source.openFileForReading(name)
        let output = try destination.createFile(name, mode: 0o600)
        do {
            let size = try input.size()
            if size > 0 { try input.copyContents(to: output, count: size) }
        } catch let error as SystemCallError {
            throw error
        } catch {
            throw SystemCallError("copy", source.display(name), errno: EIO)
        }
        try copyAttributes(from: input.descriptor, to: output.descriptor, source.display(name), relative: relative, &report)
        try setMode(output.descriptor, st.st_mode, output.path, relative: relative, &report)
        let times = [st.st_atim, st.st_mtim]
        guard futimens(output.descriptor, times) == 0 else { throw SystemCallError("futimens", output.path) }
    }

    static func kindName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFCHR: "character device"
        case S_IFBLK: "block device"
        case S_IFIFO: "FIFO"
        case S_IFSOCK: "socket"
        case S_IFLNK: "symbolic link"
        case S_IFREG: "regular file"
        case S_IFDIR: "directory"
        default: "unknown file type"
        }
    }
}
