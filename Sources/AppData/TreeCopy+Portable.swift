import Glibc
import LinuxSystem

/// The portable spelling of what a home's file system may not hold: overlay whiteouts, opaque
/// directories and symbolic links, as marker files (see `TreeCopy`).
extension TreeCopy {
    /// The prefix of a whiteout marker's name: `.wh.<name>`, an empty file.
    public static let markerPrefix = ".wh."
    /// The marker of an opaque directory, an empty file inside it (the OCI convention).
    public static let opaqueMarker = ".wh..wh..opq"
    /// The prefix of a link marker's name: `.lnk.<name>`, a regular file holding the target.
    public static let linkMarkerPrefix = ".lnk."
    /// The overlay's attribute that makes a directory opaque (`userxattr` mounts), and its value.
    static let opaqueAttribute = "user.overlay.opaque"
    static let opaqueValue: [UInt8] = Array("y".utf8)
    /// Link targets are at most this long (`PATH_MAX` less the terminating zero).
    static let maximumLinkTarget = Int(PATH_MAX) - 1

    /// Whether `name`, a regular file in a layer, would read back as a marker: such a file is
    /// not put into a profile copy.
    static func isReservedInProfile(_ name: String) -> Bool {
        name.hasPrefix(markerPrefix) || name.hasPrefix(linkMarkerPrefix)
    }

    /// Whether `errno` from making an entry in a profile copy says the home's file system
    /// refuses the name itself (FAT: reserved characters, case-insensitive duplicates).
    static func refusesName(_ errno: Int32) -> Bool {
        [EEXIST, EINVAL, ENAMETOOLONG, EILSEQ, ENOENT].contains(errno)
    }

    /// Whether `errno` from `symlink` says the home's file system has no symbolic links
    /// (vfat: `EPERM`; FUSE without `symlink`: `ENOSYS`; SMB without unix extensions).
    static func refusesLinks(_ errno: Int32) -> Bool {
        [EPERM, ENOSYS, EOPNOTSUPP].contains(errno)
    }

    /// Marks `name` deleted in `directory`, spelled as the destination spells whiteouts.
    func makeWhiteout(_ name: String, _ st: stat, in directory: OpenDirectory) throws(SystemCallError) {
        switch destinationWhiteouts {
        case .device:
            try directory.makeWhiteout(name)
            try directory.setTimes(name, access: st.st_atim, modification: st.st_mtim)
        case .marker:
            try makeMarker(Self.markerPrefix + name, contents: [], st, in: directory)
        }
    }

    /// Makes the link `name` -> `target`; where a profile's file system refuses links, the
    /// marker `.lnk.<name>` holding the target instead.
    func makeLink(_ name: String, target: String, _ st: stat, in directory: OpenDirectory,
                  _ report: inout Report) throws(SystemCallError) {
        do {
            try directory.makeSymbolicLink(name, target: target)
        } catch where destinationWhiteouts == .marker && Self.refusesLinks(error.errno) {
            try makeMarker(Self.linkMarkerPrefix + name, contents: Array(target.utf8), st, in: directory)
            report.linksAsMarkers += 1
            return
        }
        try directory.setTimes(name, access: st.st_atim, modification: st.st_mtim)
    }

    /// The marker file `name` with `contents` and the times of what it stands for.
    func makeMarker(_ name: String, contents: [UInt8], _ st: stat, in directory: OpenDirectory) throws(SystemCallError) {
        let file = try directory.createFile(name, mode: 0o600)
        var done = 0
        while done < contents.count {
            let n = contents.withUnsafeBytes { write(file.descriptor, $0.baseAddress! + done, $0.count - done) }
            if n < 0 { if errno == EINTR { continue }; throw SystemCallError("write", file.path) }
            done += n
        }
        let times = [st.st_atim, st.st_mtim]
        guard futimens(file.descriptor, times) == 0 else { throw SystemCallError("futimens", file.path) }
    }

    /// Reads back a marker of a profile copy: true when `name` (a regular file, `st`) was one
    /// and what it stands for is made in `directory` (or, for the opaque marker, `opaque` set).
    /// Files named like markers that do not qualify (not empty, too long) are ordinary files.
    func restoreMarker(_ name: String, _ st: stat, from source: OpenDirectory, to directory: OpenDirectory,
                       opaque: inout Bool, _ report: inout Report) throws(SystemCallError) -> Bool {
        if name == Self.opaqueMarker && st.st_size == 0 {
            opaque = true
            return true
        }
        if name.hasPrefix(Self.markerPrefix), name.count > Self.markerPrefix.count, st.st_size == 0 {
            try makeWhiteout(String(name.dropFirst(Self.markerPrefix.count)), st, in: directory)
            report.otherEntries += 1
            return true
        }
        if name.hasPrefix(Self.linkMarkerPrefix), name.count > Self.linkMarkerPrefix.count,
           st.st_size > 0, st.st_size <= Self.maximumLinkTarget,
           let bytes = try source.readSmallFile(name, limit: Self.maximumLinkTarget), !bytes.contains(0) {
            try makeLink(String(name.dropFirst(Self.linkMarkerPrefix.count)), target: String(decoding: bytes, as: UTF8.self),
                         st, in: directory, &report)
            report.otherEntries += 1
            return true
        }
        return false
    }
}
