import Glibc
import LinuxSystem

/// One user's work on one package's layer and profile copy: run on the `UserFiles` worker as
/// the user (see `AppDataStore`). `LayerWork+Prepare.swift` makes layers, `LayerWork+Push.swift`
/// pushes them, `LayerWork+Copies.swift` writes copies into the profile; here are the names
/// they share and the retirement of layers.
struct LayerWork {
    /// Where the layer and the profile copy are.
    let layout: AppDataLayout
    /// The user's home, open as the user.
    let home: UserHome
    /// Where a test stops the work (nil: never).
    let interruption: AppDataStore.Interruption?

    var family: String { layout.packageFamilyName }

    /// `users/<uid>`, which must be the user's and no mount point (the user owns it, and could
    /// mount a FUSE file system there); nil when there is none.
    func userDirectory() throws(SystemCallError) -> OpenDirectory? {
        do throws(SystemCallError) {
            return try OpenDirectory.open(String(layout.uid), in: layout.usersDirectory, owner: home.user.uid)
        } catch where error.errno == ENOENT {
            return nil
        }
    }

    /// A pause point for `FaultInjection`, and a stop for a test's `interruption`.
    func checkpoint(_ point: AppDataStore.Interruption) throws {
        FaultInjection.pausePoint(point.rawValue)
        if interruption == point { throw AppDataStore.Interrupted(point: point) }
    }

    /// Takes the layer out of use: renames it to `.<family>.retired-<random>` (made durable),
    /// then removes that. The rename is what counts: from then on nothing reads the layer,
    /// and a removal cut short leaves only a retired leftover. Returns why the removal failed
    /// (an app still writing, say); the next preparation or push removes the rest.
    func retire(in mine: OpenDirectory) throws -> String? {
        let retired = layout.retiredPrefix + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        try mine.rename(family, to: retired, .noReplace)
        try mine.sync()
        try checkpoint(.layerRetired)
        do throws(SystemCallError) {
            try mine.removeTree(retired)
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Removes what retirements cut short left. Returns the failures.
    func removeRetired(in mine: OpenDirectory) throws(SystemCallError) -> [String] {
        var failures: [String] = []
        for name in try mine.names() where name.hasPrefix(layout.retiredPrefix) {
            do throws(SystemCallError) { try mine.removeTree(name) } catch { failures.append("\(error)") }
        }
        return failures
    }

    /// The profile copies' directory (nil when missing and not `create`d), with what a push
    /// cut short left beside the profile copy put right: a previous copy that stepped aside
    /// for a swap without `RENAME_EXCHANGE` goes back if the new one did not take its name
    /// (and is removed if it did); a copy being written is removed.
    func profileParent(create: Bool) throws(SystemCallError) -> OpenDirectory? {
        guard let parent = try home.openDirectory(AppDataLayout.profileParent, create: create) else {
            if create { throw SystemCallError("mkdir", "~/" + AppDataLayout.profileParent, errno: ENOENT) }
            return nil
        }
        if try parent.status(of: layout.previousName) != nil {
            if try parent.status(of: family) == nil {
                try parent.rename(layout.previousName, to: family, .noReplace)
                try parent.sync()
            } else {
                try parent.removeTree(layout.previousName)
            }
        }
        try parent.removeTree(layout.temporaryName)
        return parent
    }

    /// Whether the copy a push of this layer wrote (`pushed`) is in place: the layer's data
    /// is saved, and the layer only waits to be retired.
    func wasPushed(_ record: LayerRecord, in parent: OpenDirectory?) throws(SystemCallError) -> Bool {
        guard let pushed = record.pushed, let parent else { return false }
        return try ProfileGeneration.state(of: pushed.name, in: parent) == .generation(pushed.generation)
    }

    /// The directory `name` in `parent`; nil when missing or something else (then reported).
    static func directory(_ name: String, in parent: OpenDirectory, _ report: inout TreeCopy.Report) throws(SystemCallError) -> OpenDirectory? {
        guard let st = try parent.status(of: name) else { return nil }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            report.skipped.append("\(parent.display(name)) (not a directory: \(TreeCopy.kindName(st.st_mode)))")
            return nil
        }
        return try parent.openDirectory(name)
    }
}
