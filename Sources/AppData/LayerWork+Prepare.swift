import Glibc
import LinuxSystem

/// Making a layer at sign-in or launch (see `AppDataStore.prepareLayer`).
extension LayerWork {
    /// `inUse`: apps of the package run; then a layer that is there is never retired.
    func prepare(inUse: Bool) throws -> AppDataStore.Preparation {
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
                    return try make(in: mine, parent: parent, kept: nil)
                }
                // An app writes to it again: it is a layer of the copy it was pushed as now.
                let pushedAsProfileCopy = record.pushed.flatMap { $0.name == family ? LayerRecord.Origin.generation($0.generation) : nil }
                try LayerRecord.adopt(pushedAsProfileCopy, in: layer)
            } else if !record.mayReplace(state) && !inUse {
                // Made from a profile copy that changed since: the profile copy is not this
                // layer's to replace, and this layer's data is not to be lost.
                guard let profile = try parent ?? profileParent(create: true) else { return .existing }
                let kept = try keep(layer, in: profile)
                _ = try retire(in: mine)
                return try make(in: mine, parent: profile, kept: kept)
            }
            try Self.completeAreas(of: layer)
            return .existing
        }
        return try make(in: mine, parent: parent, kept: nil)
    }

    /// Every area with its `upper` and `work`, made where missing (an app or a user removed one).
    static func completeAreas(of layer: OpenDirectory) throws(SystemCallError) {
        for area in AppDataArea.allCases {
            let dir = try layer.makeDirectory(area.rawValue)
            _ = try dir.makeDirectory("upper")
            _ = try dir.makeDirectory("work")
        }
    }

    /// Makes the layer under a temporary name, fills it from the profile copy, records where
    /// it came from, makes it durable, and renames it into place.
    private func make(in mine: OpenDirectory, parent: OpenDirectory?,
                      kept: (name: String, copied: TreeCopy.Report)?) throws -> AppDataStore.Preparation {
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
        if profile != nil { try layer.syncFileSystem() }
        try mine.rename(layout.temporaryName, to: family, .noReplace)
        let result = profile == nil ? nil : restored
        guard let kept else { return .made(restored: result) }
        return .replaced(kept: AppDataLayout.profileParent + "/" + kept.name, copied: kept.copied, restored: result)
    }
}
