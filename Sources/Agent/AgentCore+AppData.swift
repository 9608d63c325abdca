import AppData
import LinuxSystem
import Logging
import Systemd

extension AgentCore {
    /// How long after the grace period a stopped package's apps may take to end before the
    /// push goes ahead anyway.
    static let appStopTimeout: Duration = .seconds(5)

    /// Makes `account`'s layer for `family` if it is missing, restoring the profile copy into
    /// it (as the user); journals `dataRestored` when something was restored, and
    /// `dataConflict` when an older layer's data had to be kept beside the profile copy.
    /// Waits for the worker in place: for tests that drive the core by hand. The loop goes
    /// through `beginCompletion`, which does not wait.
    func prepareAppData(_ account: UserAccount, family: String) throws(AppDataError) {
        let started = ContinuousClock.now
        let preparation = try appData.prepareLayer(for: account, packageFamilyName: family)
        Self.notePreparation(preparation, account, family, ContinuousClock.now - started, journal)
    }

    /// Journals what one layer's preparation did (see `prepareAppData`).
    static func notePreparation(_ preparation: AppDataStore.Preparation, _ account: UserAccount, _ family: String,
                                _ duration: Duration, _ journal: AgentJournal) {
        if case .replaced(let kept, let copied, _) = preparation {
            noteConflict(kept: kept, copied, family, account, journal)
        }
        guard let restored = preparation.restored else { return }
        journal.event(.dataRestored, "restored the app data of \(family) for \(account.name): \(restored.files) files, \(restored.bytes) bytes",
                      record: nil, Self.dataFields(account, family, restored, duration))
        noteSkipped(restored, family, account, journal)
        noteNotKept(restored, "restored into the layer", family, account, journal)
    }

    /// Journals what preparing a registration's layers did: `dataRestored` for each package
    /// whose saved data came back, and each failure (not fatal: the apps still start, and each
    /// launch tries again).
    func noteLayers(_ account: UserAccount,
                    _ layers: [(packageFamilyName: String, result: Result<AppDataStore.Preparation, AppDataError>, duration: Duration)],
                    session: String?) {
        for (family, result, duration) in layers {
            switch result {
            case .success(let preparation):
                Self.notePreparation(preparation, account, family, duration, journal)
            case .failure(let error):
                journal.event(.registrationFailed, "\(error)", level: .error,
                              .init(user: account.name, uid: account.uid, package: family, session: session))
            }
        }
    }

    /// Where waiting for a signed-out user's apps stands: since when, and whether they were
    /// told to stop.
    struct AppWait: Sendable {
        var since = ContinuousClock.now
        var stopped = false
    }

    /// How often a sign-out looks again at apps that still run.
    static let appWaitPollInterval: Duration = .milliseconds(250)

    /// One look at `account`'s apps of `families`: nil when none runs (or they outlived their
    /// stop, which is logged) and the data can be pushed; else when to look again (the lane of
    /// the deregistration is parked until then). After `[deregistration] stop_apps_after_seconds`
    /// it stops them with `cgroup.kill`, and after `appStopTimeout` more it gives up waiting.
    /// Never sleeps: the loop stays free for others.
    func appWaitStep(_ account: UserAccount, families: [String], _ wait: inout AppWait) -> Duration? {
        let running = families.flatMap { appScopes.running(uid: account.uid, packageFamilyName: $0) }
        if running.isEmpty { return nil }
        let deadline = wait.since + .seconds(settings.config.appStopGraceSeconds) + (wait.stopped ? Self.appStopTimeout : .zero)
        guard ContinuousClock.now >= deadline else { return Self.appWaitPollInterval }
        if wait.stopped {
            logger.warning("apps of \(account.name) still running after they were stopped; saving their data anyway: \(running.joined(separator: " "))",
                           metadata: ["appattach.user": "\(account.name)", "appattach.uid": "\(account.uid)"])
            return nil
        }
        for scope in running {
            do { try appScopes.kill(scope) } catch { logger.error("\(error)") }
        }
        logger.notice("stopped \(running.count) app instance(s) of \(account.name) still running \(settings.config.appStopGraceSeconds) s after sign-out",
                      metadata: ["appattach.user": "\(account.name)", "appattach.uid": "\(account.uid)",
                                 "appattach.scopes": "\(running.joined(separator: " "))"])
        wait.stopped = true
        return Self.appWaitPollInterval
    }

    /// Journals what one push did (see `AgentCore.deregisterHome`): `dataPushed`, or
    /// `dataConflict` when the profile copy changed since the layer was made from it and the
    /// layer's data was kept beside it; what the home could not hold; retired layers left.
    static func notePush(_ push: AppDataStore.Push, _ family: String, _ account: UserAccount, _ duration: Duration,
                         _ journal: AgentJournal) {
        if let kept = push.kept {
            noteConflict(kept: kept, push.copied, family, account, journal)
        } else {
            journal.event(.dataPushed, "pushed the app data of \(family) for \(account.name) into the profile: \(push.copied.files) files, \(push.copied.bytes) bytes",
                          dataFields(account, family, push.copied, duration))
        }
        noteSkipped(push.copied, family, account, journal)
        noteNotKept(push.copied, "pushed into the profile", family, account, journal)
        for leftover in push.leftovers {
            journal.logger.warning("app data of \(family) for \(account.name) is saved, but its retired layer is not removed yet (the next sign-in or sign-out tries again): \(leftover)",
                                   metadata: dataMetadata(account, family))
        }
    }

    /// Journals `dataConflict`: a layer's data kept at `kept` (relative to the home) beside
    /// the profile copy, which changed since the layer was made from it.
    static func noteConflict(kept: String, _ copied: TreeCopy.Report, _ family: String, _ account: UserAccount, _ journal: AgentJournal) {
        journal.event(.dataConflict,
                      "the saved app data of \(family) for \(account.name) (~/\(AppDataLayout.profileParent)/\(family)) changed since this host's layer was made from it: "
                        + "left it as it is and kept this host's data beside it at ~/\(kept) (\(copied.files) files, \(copied.bytes) bytes)",
                      level: .warning,
                      .init(user: account.name, uid: account.uid, package: family, extra: ["appattach.kept": "\(kept)"]))
    }

    /// One warning for what a copy could not keep because of the destination's file system:
    /// extended attributes it refused (by name, with the files, capped) and modes it did not keep.
    static func noteNotKept(_ report: TreeCopy.Report, _ what: String, _ family: String, _ account: UserAccount, _ journal: AgentJournal) {
        var parts: [String] = []
        if !report.droppedAttributes.isEmpty {
            let dropped = report.droppedAttributes
            var names: [String] = []
            for attribute in dropped where !names.contains("\(attribute.name) (\(attribute.reason))") {
                names.append("\(attribute.name) (\(attribute.reason))")
            }
            var files: [String] = []
            for attribute in dropped where !files.contains(attribute.path) { files.append(attribute.path) }
            let shown = files.prefix(20).joined(separator: ", ") + (files.count > 20 ? ", …" : "")
            parts.append("left out the extended attributes \(names.joined(separator: ", ")) of \(files.count) files: \(shown)")
        }
        if report.modesNotKept > 0 {
            parts.append("the modes of \(report.modesNotKept) entries were not kept (such as \(report.firstModeNotKept ?? "?"))")
        }
        guard !parts.isEmpty else { return }
        journal.logger.warning("app data of \(family) for \(account.name) \(what), but its file system cannot hold everything: \(parts.joined(separator: "; "))",
                               metadata: dataMetadata(account, family))
    }

    static func dataMetadata(_ account: UserAccount, _ family: String) -> Logger.Metadata {
        ["appattach.user": "\(account.name)", "appattach.uid": "\(account.uid)", "appattach.package": "\(family)"]
    }

    static func dataFields(_ account: UserAccount, _ family: String, _ report: TreeCopy.Report, _ duration: Duration) -> AgentJournal.Fields {
        .init(user: account.name, uid: account.uid, package: family, duration: duration,
              extra: ["appattach.size_bytes": "\(report.bytes)", "appattach.files": "\(report.files)"])
    }

    /// Device nodes, FIFOs, sockets, links where directories belong, names like markers and
    /// names the home refuses are left out of a copy: say which.
    static func noteSkipped(_ report: TreeCopy.Report, _ family: String, _ account: UserAccount, _ journal: AgentJournal) {
        guard !report.skipped.isEmpty else { return }
        let shown = report.skipped.prefix(20).joined(separator: ", ") + (report.skipped.count > 20 ? ", …" : "")
        journal.logger.warning("app data of \(family) for \(account.name): left out \(report.skipped.count) entries (not files, directories, links or whiteouts, named like a marker, or a name the file system refuses): \(shown)",
                               metadata: dataMetadata(account, family))
    }
}
