import HostPool
import Staging

/// Staging the host pool's images ahead of sign-ins, in batches: a pool of thousands of images
/// is not staged in one go. At start-up the agent stages batches until its start-up budget is
/// spent, pinging the watchdog after each (`afterBatch`), and sends `READY=1` then; the rest is
/// staged by `stageBacklog` commands of the loop, one batch each, so that sign-ins and requests
/// queued meanwhile are served between batches. A sign-in never waits for the backlog: it
/// stages what the user needs itself (`ensureStaged`).
extension PackageStager {
    /// How long one batch stages at most (past its first image): short enough for the loop to
    /// serve a sign-in that arrives meanwhile promptly.
    static let batchBudget: Duration = .milliseconds(250)

    /// Whether entries are waiting to be staged.
    var hasBacklog: Bool { !backlog.isEmpty }

    /// Makes `entries` (the active entries of a newly loaded host pool) the backlog, in file
    /// order; what they provide that is staged already is skipped as it comes up.
    func queueStaging(_ entries: [PackageEntry]) {
        backlog = entries
    }

    /// Stages entries from the backlog for about `budget` (at least one), opens the gates of
    /// the packages it staged to their users, and calls `afterBatch`. A failure is logged and
    /// the others go on. Returns whether entries are left.
    @discardableResult
    func stageBatch(_ index: HostPoolIndex?, for budget: Duration = batchBudget) -> Bool {
        let deadline = ContinuousClock.now + budget
        var staged: Set<String> = []
        var taken = 0
        while taken < backlog.count {
            let entry = backlog[taken]
            taken += 1
            if stagedPackage(providing: entry) != nil {
                entryStaged?(entry, nil)
                continue
            }
            do {
                staged.insert(try ensureStaged(entry).fullName)
                entryStaged?(entry, nil)
            } catch {
                journal.logger.error("package \(entry.package) of the host pool is not available on this host: \(error)",
                                     metadata: ["appattach.package": "\(entry.package)", "appattach.image": "\(entry.image)"])
                entryStaged?(entry, error)
            }
            if ContinuousClock.now >= deadline { break }
        }
        backlog.removeFirst(taken)
        // Staged with closed gates (0700): opened to their users now, not at the next sign-in.
        if !staged.isEmpty { applyGates(index, only: staged) }
        afterBatch?()
        return hasBacklog
    }
}
