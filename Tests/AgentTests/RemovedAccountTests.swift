import ControlProtocol
import Foundation
import Glibc
import HostPool
import Logging
import StateStore
import Systemd
import Testing
import TestSupport
@testable import Agent
@testable import LinuxSystem

/// Log entries kept for a test to read: what the journal would get.
final class CapturedLog: @unchecked Sendable {
    struct Entry {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata
    }

    private let lock = NSLock()
    private var kept: [Entry] = []

    var entries: [Entry] { lock.withLock { kept } }

    /// A logger whose entries land here.
    var logger: Logger { Logger(label: "appattachd-test") { _ in Handler(log: self) } }

    /// The entries that carry `event`'s `MESSAGE_ID`.
    func events(_ event: AgentEvent) -> [Entry] {
        entries.filter { $0.metadata["message.id"].map { "\($0)" } == event.messageID }
    }

    /// The entries at `level` whose message contains `text`.
    func matching(_ level: Logger.Level, containing text: String) -> [Entry] {
        entries.filter { $0.level == level && $0.message.contains(text) }
    }

    fileprivate func add(_ entry: Entry) { lock.withLock { kept.append(entry) } }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            log.add(Entry(level: event.level, message: event.message.description,
                          metadata: metadata.merging(event.metadata ?? [:]) { _, new in new }))
        }
    }
}

extension CapturedLog.Entry {
    /// The metadata value of `key` as the journal field would read.
    func field(_ key: String) -> String? { metadata[key].map { "\($0)" } }
}

/// The app data and records of accounts that no longer exist, with real accounts made with
/// `useradd` and deleted with `userdel`: the sweep and its retention, a uid given again, and
/// deregistration of a user whose account or home is gone.
@Suite("removed accounts' app data (root: users)", .serialized, .tags(.makesUsers),
       .enabled(if: TestEnvironment.isRoot && TestEnvironment.hasTool("useradd") && TestEnvironment.hasTool("userdel")
                    && TestEnvironment.hasTool("setpriv"),
                "needs root, useradd, userdel and setpriv to make and delete test users"))
struct RemovedAccountTests {
    static let pfn = "Contoso.Notes_8wekyb3d8bbwe"
    static let fullName = "Contoso.Notes_1.0.0.0_x64__8wekyb3d8bbwe"
    static let day: TimeInterval = 86_400

    /// An agent with `retentionDays`, whose database knows the package the users register
    /// (registrations need their package's row), and whose layers users reach as on a host.
    static func agent(retentionDays: Int, log: CapturedLog = CapturedLog()) throws -> AgentUnderTest {
        let agent = try AgentUnderTest(logger: log.logger) { $0.removedAccountRetentionDays = retentionDays }
        // As StateDirectoryMode=0711 leaves it: users reach their own users/<uid>, nothing else.
        chmod(agent.core.settings.config.stateDirectory, 0o711)
        let image = ImageRecord(id: "0123456789abcdef0123", path: agent.directory + "/share/notes.erofs", stagedAt: Date(), state: .staged)
        try agent.core.database.saveImage(image, packages: [
            PackageRecord(fullName: fullName, familyName: pfn, imageID: image.id, mountPoint: agent.directory + "/run/packages/" + fullName),
        ])
        return agent
    }

    /// What the agent does before a launch mounts a layer (`completeRegistration`): makes
    /// sure the uid's data is the account's, then prepares the layer.
    static func handOver(_ agent: AgentUnderTest, _ account: UserAccount) throws {
        try agent.core.claimAppData(for: account)
        try agent.core.prepareAppData(account, family: pfn)
    }

    /// A user with what a sign-in and a launch leave: a registration of the package, and its
    /// layer holding a file the app wrote (`secret`).
    static func userWithData(_ agent: AgentUnderTest, secret: String = "secret") throws -> TestUser {
        // Its uid is given again after `userdel`: one no other test's `useradd` would take.
        let user = try TestUser(base: agent.directory + "/home", uid: TestUser.reservedUID())
        do {
            try handOver(agent, user.account)
            try user.shell("echo '\(secret)' > '\(layer(agent, user.account.uid))/config/upper/notes.txt'")
            try agent.core.database.saveRegistration(RegistrationRecord(
                uid: user.account.uid, userName: user.account.name, packageFullName: fullName, mode: .regular,
                state: .complete, registeredAt: Date(), completedAt: Date()))
        } catch {
            user.remove()
            throw error
        }
        return user
    }

    static func userDirectory(_ agent: AgentUnderTest, _ uid: UInt32) -> String { agent.core.settings.appDataUsersDirectory + "/\(uid)" }
    static func layer(_ agent: AgentUnderTest, _ uid: UInt32) -> String { userDirectory(agent, uid) + "/" + pfn }
    static func notes(_ agent: AgentUnderTest, _ uid: UInt32) -> String? {
        try? String(contentsOfFile: layer(agent, uid) + "/config/upper/notes.txt", encoding: .utf8)
    }

    /// Retired directories not purged yet.
    static func retiredLeft(_ agent: AgentUnderTest) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: agent.core.settings.appDataUsersDirectory).filter { $0.hasPrefix(".removed-") }
    }

    static func removedEvents(_ agent: AgentUnderTest) throws -> [EventRecord] {
        try agent.core.database.lastEvents(100).filter { $0.kind == .accountDataRemoved }
    }

    /// A whole second, as the database keeps times to the millisecond.
    static func wholeSecond(_ date: Date = Date()) -> Date { Date(timeIntervalSince1970: floor(date.timeIntervalSince1970)) }

    @Test("retention 0: a deleted account's layer and records go at the next sweep, journaled once; a living account's stay")
    func removedAtOnce() async throws {
        let log = CapturedLog()
        let agent = try Self.agent(retentionDays: 0, log: log)
        let gone = try Self.userWithData(agent)
        defer { gone.remove() }
        let living = try Self.userWithData(agent, secret: "still here")
        defer { living.remove() }
        let uid = gone.account.uid
        try gone.deleteAccount()

        let removals = agent.core.sweepRemovedAccounts()
        #expect(removals.count == 1)
        let removal = try #require(removals.first)
        #expect(removal.uid == uid && removal.userName == gone.account.name && removal.reason == "the account no longer exists")
        #expect(removal.retired != nil && removal.registrations == 1)
        await agent.core.purging?.value
        #expect(lstatus(Self.userDirectory(agent, uid)) == nil)
        #expect(try Self.retiredLeft(agent).isEmpty, "purged, not only renamed")
        #expect(try agent.core.database.registrations(ofUID: uid).isEmpty)
        #expect(try agent.core.database.account(uid: uid) == nil)

        // The account that still exists keeps everything.
        #expect(Self.notes(agent, living.account.uid) == "still here\n")
        #expect(try agent.core.database.registrations(ofUID: living.account.uid).count == 1)
        #expect(try agent.core.database.account(uid: living.account.uid)?.userName == living.account.name)

        // Journaled once, with the uid, the old name and the reason; and in the history.
        let events = log.events(.accountDataRemoved)
        #expect(events.count == 1)
        #expect(events.first?.field("appattach.uid") == "\(uid)")
        #expect(events.first?.field("appattach.user") == gone.account.name)
        #expect(events.first?.field("appattach.reason") == "the account no longer exists")
        #expect(try Self.removedEvents(agent).map(\.uid) == [uid])
        // Its registration is deregistered, for the history as for the journal.
        #expect(log.events(.packageDeregistered).map { $0.field("appattach.user") } == [gone.account.name])
        #expect(try agent.core.database.lastEvents(100).filter { $0.kind == .deregistered }.map(\.uid) == [uid])

        // Later sweeps have nothing more to remove or say.
        #expect(agent.core.sweepRemovedAccounts().isEmpty)
        #expect(log.events(.accountDataRemoved).count == 1)
        #expect(try Self.removedEvents(agent).count == 1)
    }

    @Test("retention of 3 days: kept while the account has been missing for less, removed after; since when survives a restart")
    func removedAfterRetention() async throws {
        let agent = try Self.agent(retentionDays: 3)
        let user = try Self.userWithData(agent)
        defer { user.remove() }
        let uid = user.account.uid
        try user.deleteAccount()

        let seen = Self.wholeSecond()
        #expect(agent.core.sweepRemovedAccounts(now: seen).isEmpty)
        #expect(try agent.core.database.account(uid: uid)?.missingSince == seen)
        #expect(agent.core.sweepRemovedAccounts(now: seen + 2 * Self.day).isEmpty)
        #expect(try agent.core.database.account(uid: uid)?.missingSince == seen, "a later look does not restart the clock")

        // The agent restarts: a new core on the same state directory.
        let settings = agent.core.settings
        let restarted = AgentCore(settings: settings, database: try StateDatabase.open(directory: settings.config.stateDirectory),
                                  logger: Logger(label: "appattachd-test") { _ in SwiftLogNoOpLogHandler() })
        #expect(restarted.sweepRemovedAccounts(now: seen + 3 * Self.day - 1).isEmpty)
        #expect(Self.notes(agent, uid) == "secret\n")
        #expect(try restarted.database.registrations(ofUID: uid).count == 1)

        let removals = restarted.sweepRemovedAccounts(now: seen + 3 * Self.day)
        #expect(removals.map(\.uid) == [uid])
        #expect(removals.first?.reason.hasPrefix("the account no longer exists (missing since ") == true, "\(removals)")
        #expect(removals.first?.reason.hasSuffix(", kept 3 days)") == true, "\(removals)")
        await restarted.purging?.value
        #expect(lstatus(Self.userDirectory(agent, uid)) == nil)
        #expect(try Self.retiredLeft(agent).isEmpty)
        #expect(try restarted.database.registrations(ofUID: uid).isEmpty)
        #expect(try restarted.database.account(uid: uid) == nil)
    }

    @Test("an account back under its name and uid within the retention (re-created, or lost for a while by a directory service) keeps its data; the clock stops")
    func backWithinRetention() async throws {
        let agent = try Self.agent(retentionDays: 30)
        let user = try Self.userWithData(agent)
        defer { user.remove() }
        let uid = user.account.uid
        try user.deleteAccount()
        let seen = Self.wholeSecond()
        #expect(agent.core.sweepRemovedAccounts(now: seen).isEmpty)
        #expect(try agent.core.database.account(uid: uid)?.missingSince == seen)

        let back = try TestEnvironment.run(["useradd", "--no-create-home", "--home-dir", user.home, "--shell", "/usr/sbin/nologin",
                                            "--uid", "\(uid)", "--user-group", user.account.name])
        #expect(back.status == 0, "\(back.output)")
        // Long past the retention: the account exists, so nothing is removed, and it is no longer missing.
        #expect(agent.core.sweepRemovedAccounts(now: seen + 90 * Self.day).isEmpty)
        #expect(try agent.core.database.account(uid: uid)?.missingSince == nil)
        try Self.handOver(agent, user.account)
        #expect(Self.notes(agent, uid) == "secret\n")
        #expect(try agent.core.database.registrations(ofUID: uid).count == 1)
    }

    @Test("a uid given to a new account: the old account's layer and records are removed when a layer is handed over, and the new account gets a fresh, empty one")
    func uidReusedAtHandOver() async throws {
        let log = CapturedLog()
        let agent = try Self.agent(retentionDays: 30, log: log)
        let old = try Self.userWithData(agent, secret: "old secret")
        defer { old.remove() }
        let uid = old.account.uid
        try old.deleteAccount()
        let new = try TestUser(base: agent.directory + "/home", uid: uid)
        defer { new.remove() }
        #expect(new.account.uid == uid && new.account.name != old.account.name)

        let removal = try #require(try agent.core.claimAppData(for: new.account))
        #expect(removal.userName == old.account.name && removal.reason == "uid now belongs to \(new.account.name)")
        try agent.core.prepareAppData(new.account, family: Self.pfn)
        await agent.core.purging?.value

        let layer = Self.layer(agent, uid)
        for area in ["config", "data", "state", "cache"] {
            #expect(try FileManager.default.contentsOfDirectory(atPath: "\(layer)/\(area)/upper").isEmpty, "\(area)")
        }
        #expect(lstatus(Self.userDirectory(agent, uid))?.st_uid == uid)
        let leaked = try TestEnvironment.run(["grep", "-rl", "old secret", agent.core.settings.appDataUsersDirectory])
        #expect(leaked.output.isEmpty, "nothing of the old data under users/: \(leaked.output)")
        #expect(try Self.retiredLeft(agent).isEmpty)
        #expect(try agent.core.database.registrations(ofUID: uid).isEmpty, "the old account's registrations are not the new one's")
        #expect(try agent.core.database.account(uid: uid)?.userName == new.account.name)

        let events = log.events(.accountDataRemoved)
        #expect(events.count == 1)
        #expect(events.first?.field("appattach.user") == old.account.name)
        #expect(events.first?.field("appattach.reason") == "uid now belongs to \(new.account.name)")
        let deregistered = log.events(.packageDeregistered)
        #expect(deregistered.map { $0.field("appattach.user") } == [old.account.name])
        #expect(deregistered.first?.field("appattach.package") == Self.fullName)
        // The next launch hands over the new account's own layer and says nothing.
        try Self.handOver(agent, new.account)
        #expect(log.events(.accountDataRemoved).count == 1)
    }

    @Test("a uid given to a new account is cleared by the sweep at once, whatever the retention")
    func uidReusedAtSweep() async throws {
        let agent = try Self.agent(retentionDays: 3_650)
        let old = try Self.userWithData(agent, secret: "old secret")
        defer { old.remove() }
        let uid = old.account.uid
        try old.deleteAccount()
        let new = try TestUser(base: agent.directory + "/home", uid: uid)
        defer { new.remove() }

        let removals = agent.core.sweepRemovedAccounts()
        #expect(removals.map(\.reason) == ["uid now belongs to \(new.account.name)"])
        await agent.core.purging?.value
        #expect(lstatus(Self.userDirectory(agent, uid)) == nil)
        #expect(try agent.core.database.registrations(ofUID: uid).isEmpty)
    }

    @Test("leftover registrations of a deleted account whose uid was given again: deregistering them pushes nothing into the new account's home")
    func leftoversOfAReusedUID() async throws {
        let log = CapturedLog()
        let agent = try Self.agent(retentionDays: 30, log: log)
        let old = try Self.userWithData(agent, secret: "old secret")
        defer { old.remove() }
        let uid = old.account.uid
        try old.deleteAccount()
        let new = try TestUser(base: agent.directory + "/home", uid: uid)
        defer { new.remove() }

        // As at the agent's start after a crash: the old account's registrations are left.
        await agent.core.deregisterLeftovers()
        #expect(lstatus(new.home + "/.local/share/appattach") == nil, "no profile copy pushed into the new home")
        // Deregistered as the old account's, once, and its data said to be removed.
        #expect(log.events(.packageDeregistered).map { $0.field("appattach.user") } == [old.account.name])
        #expect(log.events(.accountDataRemoved).map { $0.field("appattach.reason") } == ["uid now belongs to \(new.account.name)"])
        await agent.core.purging?.value
        #expect(lstatus(Self.userDirectory(agent, uid)) == nil)
        #expect(try Self.retiredLeft(agent).isEmpty)
        #expect(try agent.core.database.registrations(ofUID: uid).isEmpty)
    }

    @Test("an account deleted while registered: deregistration finishes without a home, says so once, its records leave; the layer stays until the retention ends")
    func deletedWhileRegistered() async throws {
        let log = CapturedLog()
        let agent = try Self.agent(retentionDays: 30, log: log)
        let user = try Self.userWithData(agent)
        defer { user.remove() }
        let uid = user.account.uid
        try user.deleteAccount()
        try FileManager.default.removeItem(atPath: user.home)
        // The test agent starts without a host-pool file, which is an error of its own.
        let errorsBefore = log.matching(.error, containing: "").count

        // At the agent's start: the user is not signed in, so their registrations are deregistered.
        await agent.core.deregisterLeftovers()
        #expect(try agent.core.database.registrations(ofUID: uid).isEmpty)
        #expect(Self.notes(agent, uid) == "secret\n", "nothing pushed, nothing removed")
        #expect(lstatus(user.home) == nil, "the home is not made again")
        let notices = log.matching(.notice, containing: "without touching any file")
        #expect(notices.count == 1)
        #expect(notices.first?.message.contains(user.account.name) == true && notices.first?.message.contains("no longer exists") == true,
                "\(notices.map(\.message))")
        #expect(log.events(.packageDeregistered).count == 1)
        #expect(log.matching(.error, containing: "").count == errorsBefore, "\(log.matching(.error, containing: "").map(\.message))")
        let since = try #require(try agent.core.database.account(uid: uid)?.missingSince)

        // The next start has nothing to try again, and says nothing more.
        await agent.core.deregisterLeftovers()
        #expect(log.matching(.notice, containing: "without touching any file").count == 1)

        #expect(agent.core.sweepRemovedAccounts(now: since + 29 * Self.day).isEmpty)
        #expect(Self.notes(agent, uid) == "secret\n")
        let removals = agent.core.sweepRemovedAccounts(now: since + 30 * Self.day)
        #expect(removals.count == 1 && removals.first?.registrations == 0 && removals.first?.retired != nil)
        await agent.core.purging?.value
        #expect(lstatus(Self.userDirectory(agent, uid)) == nil)
        #expect(log.events(.accountDataRemoved).count == 1)
    }

    @Test("Deregister for a user whose home was removed: done, no records left, nothing pushed, the layer kept, the home not made again")
    func deregisterWithoutHome() async throws {
        let log = CapturedLog()
        let agent = try Self.agent(retentionDays: 30, log: log)
        let user = try Self.userWithData(agent)
        defer { user.remove() }
        let uid = user.account.uid
        try FileManager.default.removeItem(atPath: user.home)

        let reply = try await agent.call(.deregister, DeregisterParameters(user: user.account.name, wait: true),
                                         reply: UserRegistrationReply.self)
        #expect(reply == UserRegistrationReply(user: user.account.name, uid: uid, packages: [Self.fullName], done: true))
        #expect(try agent.core.database.registrations(ofUID: uid).isEmpty)
        #expect(Self.notes(agent, uid) == "secret\n", "the layer stays for when the home is back")
        #expect(lstatus(user.home) == nil)
        let notices = log.matching(.notice, containing: "without touching any file")
        #expect(notices.count == 1)
        #expect(notices.first?.message.contains("the home \(user.home) no longer exists") == true, "\(notices.map(\.message))")
        #expect(try agent.core.database.lastEvents(10).filter { $0.kind == .deregistered }.count == 1)

        // Asked again: nothing left to do, nothing more said.
        let again = try await agent.call(.deregister, DeregisterParameters(user: user.account.name, wait: true),
                                         reply: UserRegistrationReply.self)
        #expect(again.done && again.packages.isEmpty)
        #expect(log.matching(.notice, containing: "without touching any file").count == 1)
    }
}
