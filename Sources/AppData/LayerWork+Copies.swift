import Glibc
import LinuxSystem

/// Writing a layer's data into the profile: as the new profile copy (swapped in) or as a kept
/// copy beside it.
extension LayerWork {
    /// Copies the layer's pushed areas into a new directory at the temporary name beside the
    /// profile copy, in portable form, with a new generation. Not durable yet.
    func writeCopy(of layer: OpenDirectory, in parent: OpenDirectory) throws(SystemCallError) -> (report: TreeCopy.Report, generation: String) {
        try parent.removeTree(layout.temporaryName)
        let copy = try Self.makeDirectory(layout.temporaryName, in: parent)
        var report = TreeCopy.Report()
        for area in AppDataArea.pushed {
            // Anything but a directory where an area or its upper belongs (a link the user put
            // there) is not followed: that area is pushed empty and the entry is reported.
            if let dir = try Self.directory(area.rawValue, in: layer, &report), let _ = try Self.directory("upper", in: dir, &report) {
                report.add(try TreeCopy.layerToProfile.copyDirectory("upper", from: dir, to: copy, as: area.rawValue).within(area.rawValue))
            } else {
                _ = try Self.makeDirectory(area.rawValue, in: copy)
            }
        }
        let generation = ProfileGeneration.make()
        try ProfileGeneration.write(generation, into: copy)
        return (report, generation)
    }

    /// Gives the durable copy at the temporary name the family's name. Returns the name the
    /// previous copy has now, for the caller to remove (nil: there was none).
    ///
    /// `RENAME_EXCHANGE` where the home's file system has it. NFS, SMB and FUSE file systems
    /// refuse it (`EINVAL`): the previous copy steps aside to `.<family>.old` first, then the
    /// new one takes the name; each step made durable. Cut short between the two, the next
    /// push or restore puts the previous copy back (`profileParent`).
    func swapIn(in parent: OpenDirectory, replacing: Bool) throws(SystemCallError) -> String? {
        guard replacing else {
            try parent.rename(layout.temporaryName, to: family, .noReplace)
            try parent.sync()
            return nil
        }
        do throws(SystemCallError) {
            try parent.rename(layout.temporaryName, to: family, .exchange)
            try parent.sync()
            return layout.temporaryName
        } catch where error.errno == EINVAL {
            try parent.rename(family, to: layout.previousName, .noReplace)
            try parent.sync()
            try parent.rename(layout.temporaryName, to: family, .noReplace)
            try parent.sync()
            return layout.previousName
        }
    }

    /// Copies `layer` into a new `<family>.kept-<UTC time>` beside the profile copy, which it
    /// leaves alone. The kept copy is recorded in the layer (durably) before it takes its
    /// name, so that a retry after a crash finds it done instead of keeping a second one.
    /// Returns its name and what went into it.
    func keep(_ layer: OpenDirectory, in parent: OpenDirectory) throws(SystemCallError) -> (name: String, copied: TreeCopy.Report) {
        let (report, generation) = try writeCopy(of: layer, in: parent)
        try parent.syncFileSystem()
        let base = layout.keptName(at: time(nil))
        var name = base
        var suffix = 1
        while try parent.status(of: name) != nil {
            suffix += 1
            name = "\(base)-\(suffix)"
        }
        try LayerRecord.writePushed(generation: generation, name: name, into: layer)
        try parent.rename(layout.temporaryName, to: name, .noReplace)
        try parent.sync()
        return (name, report)
    }

    /// Makes the directory `name` (mode 0700) in a home's directory unless it exists, and
    /// opens it. A home that keeps no modes (FAT) may refuse the `chmod` that puts back what
    /// the umask took: the directory is still the user's alone there, so that is no error.
    static func makeDirectory(_ name: String, in parent: OpenDirectory) throws(SystemCallError) -> OpenDirectory {
        guard mkdirat(parent.descriptor, name, 0o700) == 0 || errno == EEXIST else { throw SystemCallError("mkdir", parent.display(name)) }
        guard let directory = try parent.openDirectory(name) else { throw SystemCallError("open", parent.display(name), errno: ENOENT) }
        _ = fchmod(directory.descriptor, 0o700)
        return directory
    }
}
