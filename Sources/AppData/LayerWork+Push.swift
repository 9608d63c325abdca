import Glibc
import LinuxSystem

/// The push at sign-out (see `AppDataStore.push`).
extension LayerWork {
    func push() throws -> AppDataStore.Push? {
        guard let mine = try userDirectory() else { return nil }
        var leftovers = try removeRetired(in: mine)
        guard let layer = try mine.openDirectory(family) else { return nil }
        guard let parent = try profileParent(create: true) else { return nil }
        let record = try LayerRecord.read(layer, family: family)
        if try wasPushed(record, in: parent) {
            // The copy this layer was pushed as is in place: only its retirement was cut short.
            _ = try retire(in: mine)
            return nil
        }
        let state = try ProfileGeneration.state(of: family, in: parent)
        let clock = ContinuousClock()
        let started = clock.now
        guard record.mayReplace(state) else {
            let (name, report) = try keep(layer, in: parent)
            let kept = clock.now
            if let failure = try retire(in: mine) { leftovers.append(failure) }
            return AppDataStore.Push(copied: report, replacedPrevious: false, copying: kept - started, syncing: .zero,
                                     removing: clock.now - kept, kept: AppDataLayout.profileParent + "/" + name, leftovers: leftovers)
        }
        let (report, generation) = try writeCopy(of: layer, in: parent)
        let copied = clock.now
        try parent.syncFileSystem()
        // Before the swap, so that a push cut short after it is recognised as done.
        try LayerRecord.writePushed(generation: generation, name: family, into: layer)
        try checkpoint(.pushSynced)
        let previous = try swapIn(in: parent, replacing: state != .absent)
        try checkpoint(.pushSwapped)
        let synced = clock.now
        if let previous { try parent.removeTree(previous) }
        if let failure = try retire(in: mine) { leftovers.append(failure) }
        return AppDataStore.Push(copied: report, replacedPrevious: state != .absent, copying: copied - started,
                                 syncing: synced - copied, removing: clock.now - synced, leftovers: leftovers)
    }
}
