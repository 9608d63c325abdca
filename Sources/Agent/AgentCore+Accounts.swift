import AppData
import Foundation
import LinuxSystem
import Logging
import StateStore
import Systemd

/// App data and records of an account that no longer has them: what `removeAccountData` took
/// away, journaled once as `accountDataRemoved`.
struct AccountDataRemoval: Sendable, Equatable {
    var uid: UInt32
    /// The account the data belonged to.
    var userName: String
    /// Why, as the journal's `APPATTACH_REASON` says it.
    var reason: String
    /// The name the `users/<uid>` directory was retired under; nil when there was none.
    var retired: String?
    /// How many registrations were forgotten.
    var registrations: Int
}

extension AgentCore {
    /// What NSS says of a uid.
    enum AccountLookup {
        case found(UserAccount)
        /// NSS knows no account with the uid.
        case gone
        /// NSS itself failed (an unreachable directory): never taken for "gone".
        case failed(any Error)
    }

    static func lookUpAccount(_ uid: UInt32) -> AccountLookup {
        do {
            guard let account = try Accounts.account(id: uid) else { return .gone }
            return .found(account)
        } catch {
            return .failed(error)
        }
    }

    /// `users/<uid>` of the agent's layers, for messages.
    func userDirectory(_ uid: UInt32) -> String { settings.appDataUsersDirectory + "/\(uid)" }

    // MARK: - Whose the data of a uid is

    /// Makes sure the app data under `account`'s uid (the `users/<uid>` directory and the uid's
    /// registrations) is `account`'s before a layer is handed to it or pushed into its home.
    /// Data recorded for another name is another account's (the uid was freed and given
    /// again): it is removed, never handed over, and `accountDataRemoved` says so.
    ///
    /// The account is told apart by its name alone. Nothing else NSS gives is robust: shadow's
    /// last-change day changes at every password change and has a day's resolution; a home's
    /// inode and birth time change when a home is restored or migrated and are not kept by
    /// NFS; directory services (SSSD, winbind) give no creation time or object id through
    /// passwd. So an account re-created under the same name and uid counts as the same one.
    ///
    /// `recording` (registration, launch, sweep) records `account` as the owner, before any
    /// directory is made for it; deregistration only checks. Legacy data without a row is
    /// taken for the current account's, unless its registrations name another.
    @discardableResult
    func claimAppData(for account: UserAccount, recording: Bool = true) throws -> AccountDataRemoval? {
        let owner: String?
        let record: AccountRecord?
        do {
            record = try database.account(uid: account.uid)
            owner = try record?.userName ?? database.registrations(ofUID: account.uid).first?.userName
        } catch {
            throw AgentRequestError(name: .failed, description: "cannot tell whose the app data in \(userDirectory(account.uid)) is: state database: \(error)")
        }
        if let owner, owner != account.name {
            let removal = try removeAccountData(uid: account.uid, userName: owner, reason: "uid now belongs to \(account.name)")
            if recording { try recordOwner(account) }
            return removal
        }
        if record?.missingSince != nil {
            // Missing for a while (a directory service that lost it, an account re-created
            // under its name), back before its data was removed: it is the same account.
            logger.notice("account \(account.name) (uid \(account.uid)) exists again; its app data is kept",
                          metadata: ["appattach.user": "\(account.name)", "appattach.uid": "\(account.uid)"])
            try recordOwner(account)
        } else if record == nil && recording {
            try recordOwner(account)
        }
        return nil
    }

    /// Records `account` as the owner of its uid's app data, present (not missing).
    private func recordOwner(_ account: UserAccount) throws {
        do {
            try database.saveAccount(AccountRecord(uid: account.uid, userName: account.name, recordedAt: Date()))
        } catch {
            throw AgentRequestError(name: .failed, description: "cannot record \(account.name) as the owner of \(userDirectory(account.uid)): state database: \(error)")
        }
    }

    /// Removes what the agent keeps of `uid` for `userName`: retires `users/<uid>` (the purge
    /// removes it off the loop) and forgets the account's row and registrations, in one
    /// transaction with their history; then journals one `packageDeregistered` per
    /// registration and, when there was anything, `accountDataRemoved` once. The home is never
    /// touched: nothing is removed from it or pushed into it.
    func removeAccountData(uid: UInt32, userName: String, reason: String) throws -> AccountDataRemoval {
        let packages = registeredPackages(of: uid)
        let retired: String?
        do { retired = try removedAccounts.retire(uid: uid) } catch {
            throw AgentRequestError(name: .failed, description: "\(error)")
        }
        registered[uid] = nil
        let deregistered = packages.map { name in
            ("deregistered \(name) for \(userName) (\(reason))", AgentJournal.Fields(user: userName, uid: uid, package: name))
        }
        let message = "removed the app data and records of \(userName) (uid \(uid)): \(reason)"
        let fields = AgentJournal.Fields(user: userName, uid: uid, extra: ["appattach.reason": "\(reason)"])
        let worthSaying = retired != nil || !packages.isEmpty
        var history = deregistered.map { journal.historyRecord(.deregistered, $0.0, $0.1) }
        if worthSaying { history.append(journal.historyRecord(.accountDataRemoved, message, fields)) }
        do {
            try database.forgetAccount(uid: uid, events: history)
        } catch {
            if retired != nil { startPurge() }
            throw AgentRequestError(name: .failed, description: "cannot forget the records of \(userName) (uid \(uid)): state database: \(error)")
        }
        for (message, fields) in deregistered { journal.event(.packageDeregistered, message, fields) }
        if worthSaying { journal.event(.accountDataRemoved, message, fields) }
        if retired != nil { startPurge() }
        return AccountDataRemoval(uid: uid, userName: userName, reason: reason, retired: retired, registrations: packages.count)
    }

    // MARK: - The sweep

    /// Looks at every uid with a `users/<uid>` directory, an account row or registrations:
    /// the app data of an account that no longer exists is removed once it has been missing
    /// for `[deregistration] removed_account_retention_days` (counted from the first time the
    /// agent saw it missing, which the state database keeps across restarts); data of a uid
    /// that another account holds now is removed at once. Users signed in are left for later,
    /// and so is every uid when NSS fails. Runs after READY and once a day; `now` is for tests.
    @discardableResult
    func sweepRemovedAccounts(now: Date = Date()) -> [AccountDataRemoval] {
        var uids = Set<UInt32>()
        var records: [UInt32: AccountRecord] = [:]
        do {
            uids.formUnion(try removedAccounts.uidsWithData())
            for record in try database.accounts() { records[record.uid] = record }
            uids.formUnion(records.keys)
            uids.formUnion(try database.registeredUIDs())
        } catch {
            logger.error("cannot look for the app data of removed accounts: \(error)")
            return []
        }
        var removals: [AccountDataRemoval] = []
        for uid in uids.sorted() where tracker.countedSessions(of: uid) == 0 {
            do {
                switch Self.lookUpAccount(uid) {
                case .failed(let error):
                    logger.warning("cannot tell whether the account of uid \(uid) still exists; its app data is kept: \(error)",
                                   metadata: ["appattach.uid": "\(uid)"])
                case .found(let account):
                    if let removal = try claimAppData(for: account) { removals.append(removal) }
                case .gone:
                    if let removal = try sweepGone(uid: uid, record: records[uid], now: now) { removals.append(removal) }
                }
            } catch {
                logger.error("\(error)", metadata: ["appattach.uid": "\(uid)"])
            }
        }
        // Retired directories whose purge was cut short (a stop, a crash, an error).
        if removals.allSatisfy({ $0.retired == nil }), !((try? removedAccounts.retired()) ?? []).isEmpty { startPurge() }
        // Images that only forgotten registrations kept staged.
        if removals.contains(where: { $0.registrations > 0 }) { stager.destageUnused() }
        return removals
    }

    /// One uid that NSS does not know: notes since when, and removes its data once the
    /// retention period has passed.
    private func sweepGone(uid: UInt32, record: AccountRecord?, now: Date) throws -> AccountDataRemoval? {
        let name = try record?.userName ?? database.registrations(ofUID: uid).first?.userName ?? "unknown"
        let since = try database.markAccountMissing(uid: uid, userName: name, at: now).missingSince ?? now
        let days = settings.config.removedAccountRetentionDays
        guard now >= since.addingTimeInterval(Double(days) * 86_400) else { return nil }
        let reason = days == 0 ? "the account no longer exists"
            : "the account no longer exists (missing since \(ISO8601DateFormatter().string(from: since)), kept \(days) days)"
        return try removeAccountData(uid: uid, userName: name, reason: reason)
    }

    /// Purges the retired directories on a thread of its own, after any purge before it: the
    /// loop never waits for it (what an old account left may take long to remove).
    func startPurge() {
        let previous = purging, removed = removedAccounts, logger = logger
        purging = Task {
            await previous?.value
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                startThread(named: "appattach-purge") {
                    do {
                        let names = try removed.purge()
                        if !names.isEmpty { logger.info("purged \(names.count) retired app data directories: \(names.joined(separator: " "))") }
                    } catch {
                        logger.error("\(error)")
                    }
                    done.resume()
                }
            }
        }
    }

    // MARK: - Deregistering without a home

    /// Deregisters every package of `uid`, whose account NSS no longer knows: no file is
    /// removed and nothing is pushed (there is no home to do it in, as anyone), the
    /// registrations leave the state database so that no later start tries again, and one
    /// notice says so. The layers stay for the retention period, counted from now if the
    /// agent had not seen the account missing before.
    /// Returns the name the account had (as recorded) and the packages deregistered.
    @discardableResult
    func deregisterGoneAccount(uid: UInt32, reason: String) -> (userName: String, packages: [String]) {
        registered[uid] = nil
        let records = (try? database.registrations(ofUID: uid)) ?? []
        let name = ((try? database.account(uid: uid)) ?? nil)?.userName ?? records.first?.userName ?? "unknown"
        do { try database.markAccountMissing(uid: uid, userName: name, at: Date()) } catch {
            logger.error("cannot note that the account of uid \(uid) is missing: state database: \(error)", metadata: ["appattach.uid": "\(uid)"])
        }
        guard !records.isEmpty else { return (name, []) }
        let names = records.map(\.packageFullName)
        let days = settings.config.removedAccountRetentionDays
        let why = "the account no longer exists"
        recordDeregistration(uid: uid, userName: name, names, reason: "\(reason); \(why)", duration: .zero)
        logger.notice("deregistered \(names.count) package(s) of \(name) (uid \(uid)) without touching any file: \(why); its app data was not pushed and is removed \(days == 0 ? "at the next sweep" : "\(days) days after the account was first seen missing")",
                      metadata: ["appattach.user": "\(name)", "appattach.uid": "\(uid)", "appattach.reason": "\(why)"])
        return (name, names)
    }

    /// Deregistration of `names` for `account`, whose home no longer exists: nothing to
    /// remove in it, nothing pushed into it (the layers stay where they are, for when the
    /// home comes back), the registrations are forgotten, and one notice says so.
    func deregisterWithoutHome(_ account: UserAccount, _ names: [String], reason: String, duration: Duration) -> [String] {
        let why = "the home \(account.home) no longer exists"
        recordDeregistration(uid: account.uid, userName: account.name, names, reason: "\(reason); \(why)", duration: duration)
        logger.notice("deregistered \(names.count) package(s) of \(account.name) without touching any file: \(why); the app data was not pushed and stays in \(userDirectory(account.uid))",
                      metadata: ["appattach.user": "\(account.name)", "appattach.uid": "\(account.uid)", "appattach.reason": "\(why)"])
        return names
    }
}
