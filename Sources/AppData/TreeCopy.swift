import Glibc
import LinuxSystem

/// Copies an overlay upper tree faithfully, between the layer and the profile, both ways:
/// directories, regular files, symbolic links (as links, never followed), overlayfs whiteouts,
/// modes, modification times, and `user.*` extended attributes
/// (`user.overlay.opaque` and the other `user.overlay.*` ones that an overlay mounted with
/// `userxattr` keeps). Other device nodes, FIFOs and sockets are skipped and reported.
///
/// In a layer a whiteout is what overlayfs makes: a character device 0/0. In the profile copy
/// it is an empty file `.wh.<name>`, the marker OCI image layers use, because the file system
/// of a home (SMB or NFS profile shares, an overlay) often refuses device nodes. `layerToProfile`
/// and `profileToLayer` convert; a file in a layer whose own name starts with `.wh.` would be
/// read back as a whiteout, so it is not pushed and is reported.
///
/// Every name is resolved beneath the directory being walked, one level at a time, without
/// following links: a link in the source is copied as a link, and the destination is made
/// fresh by this copy, so nothing outside the two trees is read or written.
public struct TreeCopy: Sendable {
    /// What a copy did.
    public struct Report: Sendable, Equatable {
        /// Regular files copied.
        public var files = 0
        /// Directories, links and whiteouts made.
        public var otherEntries = 0
        /// Bytes of regular file data copied.
        public var bytes: UInt64 = 0
        /// What was left out, relative to the copy's root, with the reason.
        public var skipped: [String] = []

        public init() {}

        /// Adds `other`'s counts.
        public mutating func add(_ other: Report) {
            files += other.files
            otherEntries += other.otherEntries
            bytes += other.bytes
            skipped += other.skipped
        }
    }

    /// Deeper trees are refused: one descriptor stays open per level.
    public static let maximumDepth = 128
    /// Which extended attributes travel: the ones an unprivileged overlay and apps use.
    static func copiesAttribute(_ name: String) -> Bool { name.hasPrefix("user.") }

    /// How a tree spells its whiteouts.
    public enum WhiteoutForm: Sendable {
        /// A character device 0/0, as overlayfs makes and reads them (a layer).
        case device
        /// An empty regular file `.wh.<name>` (a profile copy).
        case marker
    }

    /// The prefix of a whiteout marker's name.
    public static let markerPrefix = ".wh."

    /// How whiteouts are spelled in the source and in the destination.
    public let sourceWhiteouts: WhiteoutForm, destinationWhiteouts: WhiteoutForm

    /// A copy that reads whiteouts as `source` spells them and writes them as `destination` does.
    public init(from source: WhiteoutForm = .device, to destination: WhiteoutForm = .device) {
        sourceWhiteouts = source
        destinationWhiteouts = destination
    }

    /// From a layer into the profile copy.
    public static let layerToProfile = TreeCopy(from: .device, to: .marker)
    /// From the profile copy into a new layer.
    public static let profileToLayer = TreeCopy(from: .marker, to: .device)

    /// Copies the directory `name` in `source` to the new directory `name` in `destination`
    /// (which must not exist), with everything below it.
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
        guard mkdirat(destination.descriptor, target, 0o700) == 0 else { throw SystemCallError("mkdir", destination.display(target)) }
        guard let to = try destination.openDirectory(target) else { throw SystemCallError("open", destination.display(target), errno: ENOENT) }
        report.otherEntries += 1
        for child in try from.names() {
            let path = relative.isEmpty ? child : relative + "/" + child
            guard let cst = try from.status(of: child) else { continue } // removed meanwhile
            let kind = cst.st_mode & S_IFMT
            if kind == S_IFREG, child.hasPrefix(Self.markerPrefix) {
                if sourceWhiteouts == .marker, cst.st_size == 0, child.count > Self.markerPrefix.count {
                    try makeWhiteout(String(child.dropFirst(Self.markerPrefix.count)), cst, in: to)
                    report.otherEntries += 1
                    continue
                }
                if destinationWhiteouts == .marker {
                    report.skipped.append("\(path) (a name starting with \(Self.markerPrefix) marks a deleted file)")
                    continue
                }
            }
            switch kind {
            case S_IFDIR:
                try copyDirectory(child, cst, from: from, to: to, as: child, relative: path, depth: depth + 1, &report)
            case S_IFREG:
                try copyFile(child, cst, from: from, to: to)
                report.files += 1
                report.bytes += UInt64(cst.st_size)
            case S_IFLNK:
                try to.makeSymbolicLink(child, target: try from.readSymbolicLink(child))
                try to.setTimes(child, access: cst.st_atim, modification: cst.st_mtim)
                report.otherEntries += 1
            case S_IFCHR where cst.st_rdev == 0:
                try makeWhiteout(child, cst, in: to)
                report.otherEntries += 1
            default:
                report.skipped.append("\(path) (\(Self.kindName(cst.st_mode)))")
            }
        }
        try copyAttributes(from: from.descriptor, to: to.descriptor, source.display(name))
        // Mode and times last: the children's creation changed the time, and a read-only
        // mode would have stopped them being made.
        try retryingOnInterrupt("chmod", to.path) { fchmod(to.descriptor, st.st_mode & 0o7777) }
        let times = [st.st_atim, st.st_mtim]
        guard futimens(to.descriptor, times) == 0 else { throw SystemCallError("futimens", to.path) }
    }

    /// Marks `name` deleted in `directory`, spelled as the destination spells whiteouts.
    private func makeWhiteout(_ name: String, _ st: stat, in directory: OpenDirectory) throws(SystemCallError) {
        switch destinationWhiteouts {
        case .device:
            try directory.makeWhiteout(name)
            try directory.setTimes(name, access: st.st_atim, modification: st.st_mtim)
        case .marker:
            let marker = Self.markerPrefix + name
            let file = try directory.createFile(marker, mode: 0o600)
            let times = [st.st_atim, st.st_mtim]
            guard futimens(file.descriptor, times) == 0 else { throw SystemCallError("futimens", file.path) }
        }
    }

    private func copyFile(_ name: String, _ st: stat, from source: OpenDirectory, to destination: OpenDirectory) throws(SystemCallError) {
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
        try copyAttributes(from: input.descriptor, to: output.descriptor, source.display(name))
        try retryingOnInterrupt("chmod", output.path) { fchmod(output.descriptor, st.st_mode & 0o7777) }
        let times = [st.st_atim, st.st_mtim]
        guard futimens(output.descriptor, times) == 0 else { throw SystemCallError("futimens", output.path) }
    }

    private func copyAttributes(from source: Int32, to destination: Int32, _ subject: String) throws(SystemCallError) {
        for name in try ExtendedAttributes.names(of: source, subject) where Self.copiesAttribute(name) {
            guard let value = try ExtendedAttributes.value(of: source, name, subject) else { continue }
            try ExtendedAttributes.set(name, value, on: destination, subject)
        }
    }

    static func kindName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFCHR: "character device"
        case S_IFBLK: "block device"
        case S_IFIFO: "FIFO"
        case S_IFSOCK: "socket"
        case S_IFLNK: "symbolic link"
        case S_IFREG: "regular file"
        default: "unknown file type"
        }
    }
}
