import Glibc
import LinuxSystem

/// Making a layer at sign-in or launch (see `AppDataStore.prepareLayer`).
extension LayerWork {
    /// A preparation that may still have to make its new layer durable and give it its name
    /// (`LayerWork.finish`): a registration of many packages makes all its layers first, then
    /// syncs the file system once for all of them, not once per layer.
    enum Prepared {
        /// Nothing left to do.
        case done(AppDataStore.Preparation)
        /// A new layer under its temporary name in `mine`; `needsSync`: it holds what came
        /// from the profile copy, which must be durable before the layer takes its name.
        case pending(AppDataStore.Preparation, mine: OpenDirectory, needsSync: Bool)
    }

    /// `inUse`: apps of the package run; then a layer that is there is never retired.
    func prepare(inUse: Bool) throws -> AppDataStore.Preparation {
        switch try prepareDeferred(inUse: inUse) {
        case .done(let preparation):
            return preparation
        case .pending(let preparation, let mine, let needsSync):
            if needsSync { try mine.syncFileSystem() }
            try finish(in: mine)
            return preparation
        }
    }

    /// `prepare`, leaving a new layer's sync and rename to the caller (`finish`). With
    /// `onlyWithData`, a layer that would be new and empty (no profile copy, or one with
    /// nothing in it) is not made: `.nothingToRestore`, and the first launch makes it.
    func prepareDeferred(inUse: Bool, onlyWithData: Bool = false) throws -> Prepared {
        guard let mine = try userDirectory() else { throw SystemCallError("open", layout.userDirectory, errno: ENOENT) }
        try mine.removeTree(layout.temporaryName)
        _ = try removeRetired(in: mine)
        let parent = try profileParent(create: false)
        if let layer = try mine.openDirectory(family) {
            let record = try LayerRecord.read(layer, family: family)
            let state = try parent.map { (parent) throws(SystemCallError) in try ProfileGeneration.state(of: family, in: parent) } ?? .absent
            if try wasPushed(record, in: parent) {
                guard inUse else {
                    // Saved already: a fresh layer from the profile copy holds the same and more.
                    _ = try retire(in: mine)
                    if onlyWithData, try !hasSavedData(parent) { return .done(.nothingToRestore) }
                    return try make(in: mine, parent: parent, kept: nil)
                }
                // An app writes to it again: it is a layer of the copy it was pushed as now.
                let pushedAsProfileCopy = record.pushed.flatMap { $0.name == family ? LayerRecord.Origin.generation($0.generation) : nil }
                try LayerRecord.adopt(pushedAsProfileCopy, in: layer)
            } else if !record.mayReplace(state) && !inUse {
                // Made from a profile copy that changed since: the profile copy is not this
                // layer's to replace, and this layer's data is not to be lost.
                guard let profile = try parent ?? profileParent(create: true) else { return .done(.existing) }
                let kept = try keep(layer, in: profile)
                _ = try retire(in: mine)
                return try make(in: mine, parent: profile, kept: kept)
            }
            try Self.completeAreas(of: layer)
            return .done(.existing)
        }
        if onlyWithData, try !hasSavedData(parent) { return .done(.nothingToRestore) }
        return try make(in: mine, parent: parent, kept: nil)
    }

    /// Whether the profile copy holds anything in an area that is restored: an entry of any
    /// kind in `config`, `data` or `state` (also what cannot be restored, so that it is
    /// reported when the layer is made).
    func hasSavedData(_ parent: OpenDirectory?) throws(SystemCallError) -> Bool {
        guard let parent, let profile = try parent.openDirectory(family) else { return false }
        for area in AppDataArea.pushed {
            guard let st = try profile.status(of: area.rawValue) else { continue }
            guard st.st_mode & S_IFMT == S_IFDIR, let dir = try profile.openDirectory(area.rawValue) else { return true }
            if try !dir.names().isEmpty { return true }
        }
        return false
    }

    /// Every area with its `upper` and `work`, made where missing (an app or a user removed one).
    static func completeAreas(of layer: OpenDirectory) throws(SystemCallError) {
        for area in AppDataArea.allCases {
            let dir = try layer.makeDirectory(area.rawValue)
            _ = try dir.makeDirectory("upper")
            _ = try dir.makeDirectory("work")
        }
    }

    /// Makes the layer under a temporary name, fills it from the profile copy and records
    /// where it came from; making it durable and renaming it into place are the caller's.
    private func make(in mine: OpenDirectory, parent: OpenDirectory?,
                      kept: (name: String, copied: TreeCopy.Report)?) throws -> Prepared {
        let state = try parent.map { (parent) throws(SystemCallError) in try ProfileGeneration.state(of: family, in: parent) } ?? .absent
        let profile = try parent?.openDirectory(family)
        let layer = try mine.makeDirectory(layout.temporaryName)
        var restored = TreeCopy.Report()
        for area in AppDataArea.allCases {
            let dir = try layer.makeDirectory(area.rawValue)
            if area.isPushed, let profile, try Self.directory(area.rawValue, in: profile, &restored) != nil {
                restored.add(try TreeCopy.profileToLayer.copyDirectory(area.rawValue, from: profile, to: dir, as: "upper").within(area.rawValue))
            } else {
                _ = try dir.makeDirectory("upper")
            }
            _ = try dir.makeDirectory("work")
        }
        try LayerRecord.writeOrigin(LayerRecord.Origin(profile == nil ? .absent : state), into: layer)
        // What came from the profile is made durable before the layer takes its final name: a
        // power cut could otherwise leave files without their data in a layer that looks
        // complete, and the next push would put them over the good profile copy.
        let result = profile == nil ? nil : restored
        let preparation: AppDataStore.Preparation = kept.map {
            .replaced(kept: AppDataLayout.profileParent + "/" + $0.name, copied: $0.copied, restored: result)
        } ?? .made(restored: result)
        return .pending(preparation, mine: mine, needsSync: profile != nil)
    }

    /// Gives a new layer made by `prepareDeferred` its name, once what it needs is durable.
    func finish(in mine: OpenDirectory) throws(SystemCallError) {
        try mine.rename(layout.temporaryName, to: family, .noReplace)
    }
}
