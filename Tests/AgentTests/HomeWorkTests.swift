import AppData
import ControlProtocol
import Foundation
import Glibc
import LinuxSystem
import Systemd
import Testing
import TestSupport
@testable import Agent

/// Homes that attack the agent, for real: real users, real homes, a FIFO where a file
/// belongs, a tmpfs and a FUSE mount whose server never answers below a home and as a home,
/// a layer of 200,000 files, against the real event loop (`AgentLoop`) with a real staged
/// package. In each, the loop keeps answering within a bound, other users are served, and
/// the attacked user is reported, never forgotten.
@Suite("work in homes never holds the loop (root: users, mounts, loop devices)", .serialized,
       .tags(.makesUsers, .mounts, .attachesLoopDevices),
       .enabled(if: TestEnvironment.isRoot && TestEnvironment.hasTool("useradd") && TestEnvironment.hasTool("setpriv")
                    && TestEnvironment.hasTool("mkfs.erofs") && (TestEnvironment.hasLoopDevices || TestEnvironment.hasFileBackedEROFSAtOffset),
                "needs root, useradd, setpriv, mkfs.erofs, and loop devices (or file-backed EROFS) to stage a package"),
       .enabled(if: access("/dev/fuse", R_OK | W_OK) == 0, "needs /dev/fuse for a FUSE server that never answers"))
struct HomeWorkTests {
    /// The longest the loop may keep a request waiting while a home is attacking it. Commands
    /// take milliseconds (20 ms alone); this allows for a test process that other suites stall
    /// (a full parallel run, with suites that make RSA keys, sign and expand packages and mount
    /// images beside it, starves it of CPU for seconds: 2 to 6.6 s seen on 2 cores). Well under
    /// `deadline`, so that a loop that waited for a home until its deadline fails.
    static let loopBound: Duration = .seconds(5)
    /// The deadline of file work in the tests whose homes never answer.
    static let deadline: Duration = .seconds(8)
    /// The watchdog interval the tests' notifier reports: pings every 2 s while the loop is
    /// alive; a loop held for `deadline` would leave it silent for longer.
    static let watchdog: Duration = .seconds(4)

    /// The test's directory, which users may traverse to their homes.
    static func scratch() -> String {
        let directory = TestEnvironment.makeTemporaryDirectory("homework")
        chmod(directory, 0o755)
        return directory
    }

    static func files(in path: String) -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] }

    @Test("a FIFO at ~/.config/mimeapps.list: its user is registered without the FIFO ever being opened, and reported; another user registered beside is done as fast")
    func fifoAtMimeApps() async throws {
        let directory = Self.scratch()
        defer { TestEnvironment.removeTemporaryDirectory(directory) }
        let alice = try TestUser(base: directory + "/home")
        defer { alice.remove() }
        let bob = try TestUser(base: directory + "/home")
        defer { bob.remove() }
        try alice.shell("mkdir -p .config && mkfifo .config/mimeapps.list")
        // A writer waits in open(2) until someone opens the FIFO for reading: while it waits,
        // nobody has. Killed by its PID after.
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        writer.arguments = ["--reuid=\(alice.account.uid)", "--regid=\(alice.account.gid)", "--init-groups",
                            "sh", "-c", "echo planted > '\(alice.home)/.config/mimeapps.list'"]
        try writer.run()
        defer { if writer.isRunning { kill(writer.processIdentifier, SIGKILL) }; writer.waitUntilExit() }
        try await Task.sleep(for: .milliseconds(300))
        #expect(writer.isRunning, "the writer waits in open(2)")

        let agent = try LoopedAgent(directory: directory, users: [alice, bob])
        defer { agent.tearDown() }
        agent.start()
        async let forAlice = agent.call(.register, RegisterParameters(user: alice.account.name, wait: true), reply: UserRegistrationReply.self)
        async let forBob = agent.call(.register, RegisterParameters(user: bob.account.name, wait: true), reply: UserRegistrationReply.self)
        let ((aliceReply, aliceTook), (bobReply, bobTook)) = await (forAlice, forBob)
        print("FIFO at mimeapps.list: alice registered in \(aliceTook), bob beside her in \(bobTook)")
        #expect(try aliceReply.get().done && bobReply.get().done)
        #expect(aliceTook < Self.loopBound && bobTook < Self.loopBound)

        // Alice has her apps; the FIFO is left as it is, and still has no reader.
        #expect(Self.files(in: alice.home + "/.local/share/applications").contains { $0.hasPrefix("appattach-") })
        #expect(lstatus(alice.home + "/.config/mimeapps.list").map { $0.st_mode & S_IFMT } == S_IFIFO)
        #expect(writer.isRunning, "the FIFO was never opened: its writer still waits for a reader")
        // Reported, naming the file and why.
        let reported = agent.log.matching(.warning, containing: "~/.config/mimeapps.list is not a regular file")
        #expect(reported.count == 1 && reported.first?.field("appattach.user") == alice.account.name, "\(reported.map(\.message))")
        // Bob's associations are there.
        let bobs = try String(contentsOfFile: bob.home + "/.config/mimeapps.list", encoding: .utf8)
        #expect(bobs.contains("appattach-"))
        await agent.stop()
    }

    @Test("mounts below a home are refused, not entered: a tmpfs at ~/.local/share/applications gets nothing, a FUSE at ~/.config whose server never answers blocks nothing")
    func mountsBelowHomes() async throws {
        let directory = Self.scratch()
        defer { TestEnvironment.removeTemporaryDirectory(directory) }
        let carol = try TestUser(base: directory + "/home")
        defer { carol.remove() }
        let dave = try TestUser(base: directory + "/home")
        defer { dave.remove() }
        // Root mounts them, standing in for mounts the users made themselves.
        try carol.shell("mkdir -p .local/share/applications .config")
        let applications = carol.home + "/.local/share/applications"
        let mounted = try TestEnvironment.run(["mount", "-t", "tmpfs", "-o", "mode=0700,uid=\(carol.account.uid),gid=\(carol.account.gid)",
                                               "appattach-test", applications])
        try #require(mounted.status == 0, "\(mounted.output)")
        defer { umount2(applications, 0) }
        try dave.shell("mkdir -p .config")
        let silent = try SilentFUSE(at: dave.home + "/.config", owner: dave.account)
        defer { silent.release() }

        let agent = try LoopedAgent(directory: directory, users: [carol, dave])
        defer { agent.tearDown() }
        agent.start()
        // Timed from a loop that serves: in a full parallel run its task may wait for a thread.
        _ = try await agent.status()
        async let forCarol = agent.call(.register, RegisterParameters(user: carol.account.name, wait: true), reply: UserRegistrationReply.self)
        async let forDave = agent.call(.register, RegisterParameters(user: dave.account.name, wait: true), reply: UserRegistrationReply.self)
        let ((carolReply, carolTook), (daveReply, daveTook)) = await (forCarol, forDave)
        print("mounts below homes: carol refused in \(carolTook), dave (silent FUSE at ~/.config) in \(daveTook)")
        #expect(carolTook < Self.loopBound && daveTook < Self.loopBound)
        for (reply, path) in [(carolReply, "~/.local/share/applications"), (daveReply, "~/.config")] {
            do {
                _ = try reply.get()
                Issue.record("a registration through a mount at \(path) must be refused")
            } catch {
                #expect("\(error)".contains("a mount point") && "\(error)".contains("'\(path)'"), "\(error)")
            }
        }
        #expect(Self.files(in: applications).isEmpty, "nothing written into the mount")
        #expect(agent.core.userFiles.threads == UserFiles.ThreadCounts(serving: 4, stuck: 0), "no worker entered the silent FUSE")
        #expect(agent.events(.registrationFailed, of: carol).count == 1 && agent.events(.registrationFailed, of: dave).count == 1)
        await agent.stop()
    }

    @Test("a home whose FUSE server never answers: the job passes its deadline, the user is marked once and retried, the stuck thread is replaced, the loop and another user go on; when the home is back the user is registered")
    func homeThatNeverAnswers() async throws {
        let directory = Self.scratch()
        defer { TestEnvironment.removeTemporaryDirectory(directory) }
        let erin = try TestUser(base: directory + "/home")
        defer { erin.remove() }
        let fred = try TestUser(base: directory + "/home")
        defer { fred.remove() }
        // The home itself may be a mount (NFS homes are): only the deadline can help here.
        let silent = try SilentFUSE(at: erin.home, owner: erin.account)
        defer { silent.release() }

        let agent = try LoopedAgent(directory: directory, users: [erin, fred], watchdogInterval: Self.watchdog) { settings in
            settings.homeFileDeadline = .within(Self.deadline)
            settings.homeRetryDelay = .milliseconds(500)
            settings.homeRetryMaximum = .seconds(1)
        }
        defer { agent.tearDown() }
        agent.start()
        #expect(agent.workerThreads.count == 4)
        let attackStarted = ContinuousClock.now

        let (erinReply, erinTook) = await agent.call(.register, RegisterParameters(user: erin.account.name, wait: false),
                                                    reply: UserRegistrationReply.self)
        #expect(try erinReply.get().done == false)
        #expect(erinTook < Self.loopBound, "not waiting: answered at once")
        // While Erin's job is in the kernel: Fred signs in and is registered, and every Status is
        // answered at once.
        let (fredTook, slowest, asked) = try await agent.whileAsking {
            let (reply, took) = await agent.call(.register, RegisterParameters(user: fred.account.name, wait: true),
                                                 reply: UserRegistrationReply.self)
            #expect(try reply.get().done)
            // Past the deadline, and two attempts after it.
            try await Task.sleep(for: Self.deadline + .seconds(3))
            return took
        }
        print("silent FUSE home: fred registered in \(fredTook); \(asked) Status requests, slowest \(slowest)")
        #expect(fredTook < Self.loopBound)
        #expect(slowest < Self.loopBound)
        #expect(notifierSilence(agent, since: attackStarted) < agent.notifier.watchdogInterval!, "the watchdog kept being pinged")

        // Marked, with the phase and the reason, and journaled once however many attempts.
        let (status, _) = try await agent.status()
        let marked = try #require(status.unresponsiveHomes?.first { $0.uid == erin.account.uid })
        #expect(marked.phase == "register" && marked.reason.contains(erin.home) && marked.reason.contains("does not answer"), "\(marked)")
        let events = agent.events(.homeUnresponsive, of: erin)
        #expect(events.count == 1)
        #expect(events.first?.field("appattach.phase") == "register")
        let attempts = agent.log.matching(.notice, containing: "is tried again").filter { $0.field("appattach.user") == erin.account.name }
        #expect(attempts.count >= 2, "retried with back-off: \(attempts.map(\.message))")
        #expect(!agent.log.matching(.error, containing: "an earlier job there has been stuck").isEmpty
                    || !agent.log.matching(.notice, containing: "is tried again").isEmpty)
        // A sign-in of Erin meanwhile (the PAM hook's Register) is told at once, not held.
        let (again, againTook) = await agent.call(.register, RegisterParameters(user: erin.account.name, wait: true),
                                                  reply: UserRegistrationReply.self)
        #expect(againTook < Self.loopBound)
        #expect(throws: ControlClientError.self) { try again.get() }
        if case .failure(let error) = again { #expect("\(error)".contains("does not answer") && "\(error)".contains("tried again")) }
        // One thread stuck in Erin's home (at most one per user), replaced: 4 serve.
        let threads = agent.workerThreads
        print("worker threads during the attack: \(threads.count): \(threads.map { "\($0.tid) \($0.state) \($0.wchan)" })")
        #expect(threads.count == 5)
        #expect(agent.core.userFiles.threads == UserFiles.ThreadCounts(serving: 4, stuck: 1))

        // The home comes back: the stuck thread returns, the attempt comes at once and succeeds.
        silent.release()
        let registered = try await agent.eventually(within: .seconds(20)) {
            let (status, _) = try await agent.status()
            return status.registrations.contains { $0.uid == erin.account.uid } && (status.unresponsiveHomes ?? []).isEmpty
        }
        #expect(registered, "Erin is registered once her home answers")
        #expect(await agent.eventually(within: .seconds(10)) { agent.workerThreads.count == 4 }, "the thread that came back ended")
        #expect(agent.core.userFiles.threads == UserFiles.ThreadCounts(serving: 4, stuck: 0))
        #expect(agent.events(.homeUnresponsive, of: erin).count == 1)
        #expect(!agent.log.matching(.notice, containing: "answers again").isEmpty)
        await agent.stop()
    }

    @Test("a push of a layer of 200,000 files while another user signs in and out: the other user is served at once, and every file is pushed")
    func bigPushBesideASignIn() async throws {
        let directory = Self.scratch()
        defer { TestEnvironment.removeTemporaryDirectory(directory) }
        let gus = try TestUser(base: directory + "/home")
        defer { gus.remove() }
        let hank = try TestUser(base: directory + "/home")
        defer { hank.remove() }
        let agent = try LoopedAgent(directory: directory, users: [gus, hank])
        defer { agent.tearDown() }
        agent.start()

        // Gus has saved data (a directory), so his sign-in makes the layer and restores it.
        try gus.shell("mkdir -p '\(gus.home)/.local/share/appattach/\(agent.family)/config/saved'")
        let (gusReply, _) = await agent.call(.register, RegisterParameters(user: gus.account.name, wait: true), reply: UserRegistrationReply.self)
        #expect(try gusReply.get().done)
        // The layer's config area, filled as Gus would: 200 directories of 1,000 empty files.
        let upper = agent.core.settings.appDataUsersDirectory + "/\(gus.account.uid)/\(agent.family)/config/upper"
        let filled = ContinuousClock.now
        try gus.shell("""
            python3 -c 'import os, sys
            for d in range(200):
                p = os.path.join(sys.argv[1], "d%03d" % d); os.mkdir(p)
                for f in range(1000): os.close(os.open(os.path.join(p, "f%04d" % f), os.O_CREAT | os.O_WRONLY, 0o600))' '\(upper)'
            """)
        print("200,000 files made in \(ContinuousClock.now - filled)")

        let pushStarted = ContinuousClock.now
        let push = Task { await agent.call(.deregister, DeregisterParameters(user: gus.account.name, wait: true), reply: UserRegistrationReply.self,
                                           timeout: .seconds(900)) }
        // Hank signs in and out meanwhile; Status is asked every 100 ms until the push is done.
        let (times, slowest, asked) = try await agent.whileAsking {
            try await Task.sleep(for: .milliseconds(300))
            let (inReply, inTook) = await agent.call(.register, RegisterParameters(user: hank.account.name, wait: true),
                                                     reply: UserRegistrationReply.self)
            let (outReply, outTook) = await agent.call(.deregister, DeregisterParameters(user: hank.account.name, wait: true),
                                                       reply: UserRegistrationReply.self)
            #expect(try inReply.get().done && outReply.get().done)
            let hankDone = ContinuousClock.now - pushStarted
            let (pushReply, pushTook) = await push.value
            #expect(try pushReply.get().packages == [agent.fullName])
            return (inTook, outTook, hankDone, pushTook)
        }
        let (inTook, outTook, hankDone, pushTook) = times
        print("push of 200,000 files: \(pushTook); hank signed in in \(inTook) and out in \(outTook), done \(hankDone) after the push began; \(asked) Status requests during the push, slowest \(slowest)")
        #expect(inTook < Self.loopBound && outTook < Self.loopBound)
        #expect(slowest < Self.loopBound)
        #expect(hankDone < pushTook, "Hank was done while the push still ran")
        let pushed = try TestEnvironment.run(["find", gus.home + "/.local/share/appattach/\(agent.family)/config", "-type", "f"])
        #expect(pushed.output.split(separator: "\n").count == 200_000)
        let events = agent.events(.dataPushed, of: gus)
        #expect(events.count == 1 && events.first?.field("appattach.files") == "200000", "\(events.map(\.message))")
        #expect(agent.events(.homeUnresponsive, of: gus).isEmpty, "a push that moves is not unresponsive, however long")
        await agent.stop()
    }

    @Test("start-up with users signed in whose homes never answer, and a leftover registration of another: READY comes at once, the watchdog keeps being pinged, the others are served")
    func startUpWithHomesThatNeverAnswer() async throws {
        let directory = Self.scratch()
        defer { TestEnvironment.removeTemporaryDirectory(directory) }
        let ida = try TestUser(base: directory + "/home")
        defer { ida.remove() }
        let jack = try TestUser(base: directory + "/home")
        defer { jack.remove() }
        let kim = try TestUser(base: directory + "/home")
        defer { kim.remove() }
        let idaHome = try SilentFUSE(at: ida.home, owner: ida.account)
        defer { idaHome.release() }
        let kimHome = try SilentFUSE(at: kim.home, owner: kim.account)
        defer { kimHome.release() }

        let agent = try LoopedAgent(directory: directory, users: [ida, jack, kim], watchdogInterval: Self.watchdog) { settings in
            settings.homeFileDeadline = .within(Self.deadline)
            settings.homeRetryDelay = .seconds(1)
        }
        defer { agent.tearDown() }
        // Kim was registered before a crash, and is not signed in now.
        try agent.core.database.saveRegistration(.init(uid: kim.account.uid, userName: kim.account.name, packageFullName: agent.fullName,
                                                       mode: .regular, state: .complete, registeredAt: Date(), completedAt: Date()))
        let started = ContinuousClock.now
        agent.start(initialSessions: [LoopedAgent.session("1", ida), LoopedAgent.session("2", jack)])
        #expect(await agent.eventually(within: .seconds(5)) { agent.notifier.readyAt != nil })
        let ready = try #require(agent.notifier.readyAt) - started
        print("start-up with homes that never answer: READY after \(ready)")
        #expect(ready < Self.loopBound)

        let jackRegistered = try await agent.eventually(within: .seconds(5)) {
            try await agent.status().0.registrations.contains { $0.uid == jack.account.uid }
        }
        #expect(jackRegistered)
        let (_, slowest, asked) = try await agent.whileAsking { try await Task.sleep(for: Self.deadline + .seconds(1)) }
        let silence = notifierSilence(agent, since: started)
        print("start-up: \(asked) Status requests, slowest \(slowest); longest time without a watchdog ping \(silence)")
        #expect(slowest < Self.loopBound)
        #expect(silence < agent.notifier.watchdogInterval!)
        let (status, _) = try await agent.status()
        let phases = Dictionary((status.unresponsiveHomes ?? []).map { ($0.uid, $0.phase) }, uniquingKeysWith: { a, _ in a })
        #expect(phases == [ida.account.uid: "register", kim.account.uid: "deregister"], "\(status.unresponsiveHomes ?? [])")
        #expect(try agent.core.database.registrations(ofUID: kim.account.uid).count == 1, "Kim's registration stays until her home answers")
        await agent.stop()
    }

    @Test("a package no longer assigned while its app runs: the deregistration waits for the app on the loop's timers, the loop answers meanwhile, and the app is stopped after stop_apps_after_seconds")
    func stalePackageWithARunningApp() async throws {
        let cgroup2 = try #require(["/sys/fs/cgroup", "/sys/fs/cgroup/unified"].first {
            access($0 + "/cgroup.procs", W_OK) == 0 && access($0 + "/cgroup.controllers", F_OK) == 0
        }, "needs a writable cgroup2 hierarchy")
        let directory = Self.scratch()
        defer { TestEnvironment.removeTemporaryDirectory(directory) }
        let lena = try TestUser(base: directory + "/home")
        defer { lena.remove() }
        // The host pool assigns the package to nobody now; Lena still has it registered.
        let agent = try LoopedAgent(directory: directory, users: []) { settings in settings.config.appStopGraceSeconds = 2 }
        defer { agent.tearDown() }
        try agent.core.database.saveRegistration(.init(uid: lena.account.uid, userName: lena.account.name, packageFullName: agent.fullName,
                                                       mode: .regular, state: .complete, registeredAt: Date(), completedAt: Date()))
        // Her app runs: a process in its scope, laid out as her user manager would.
        let app = try RunningApp(cgroup2: cgroup2, uid: lena.account.uid, family: agent.family)
        defer { app.remove() }
        agent.core.appScopes = .init(cgroupRoot: app.root)
        agent.start()

        let started = ContinuousClock.now
        agent.signIn(lena, session: "7")
        let (_, slowest, asked) = try await agent.whileAsking { try await Task.sleep(for: .seconds(1)) }
        #expect(slowest < Self.loopBound)
        #expect(try agent.core.database.registrations(ofUID: lena.account.uid).count == 1, "waiting for the app")
        let deregistered = try await agent.eventually(within: .seconds(15)) {
            try agent.core.database.registrations(ofUID: lena.account.uid).isEmpty
        }
        let took = ContinuousClock.now - started
        print("stale package with a running app: deregistered after \(took) (\(asked) Status requests meanwhile, slowest \(slowest))")
        #expect(deregistered)
        #expect(took >= .seconds(2), "the app was waited for")
        #expect(!agent.log.matching(.notice, containing: "stopped 1 app instance(s) of \(lena.account.name)").isEmpty)
        let events = agent.events(.packageDeregistered, of: lena)
        #expect(events.count == 1 && events.first?.message.contains("no longer assigned") == true, "\(events.map(\.message))")
        #expect(await agent.eventually(within: .seconds(5)) { app.processEnded }, "stopped by cgroup.kill")
        await agent.stop()
    }

    /// The longest the test's notifier went without a watchdog ping since `since`.
    func notifierSilence(_ agent: LoopedAgent, since: ContinuousClock.Instant) -> Duration {
        agent.notifier.longestSilence(from: since)
    }
}

/// A process in an app scope of `family` for `uid`, below a cgroup of the test's own
/// (`appattach-test-<pid>-…`); `remove()` ends it and removes the cgroups.
final class RunningApp {
    let root: String
    let scope: String
    private let child = Process()

    init(cgroup2: String, uid: UInt32, family: String) throws {
        root = "\(cgroup2)/appattach-test-\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
        let slice = "\(root)/user.slice/user-\(uid).slice/user@\(uid).service/app.slice"
        scope = slice + "/" + AppScopeName.make(packageFamilyName: family, appId: "App", random: "5e1f")
        try FileManager.default.createDirectory(atPath: scope, withIntermediateDirectories: true)
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["600"]
        try child.run()
        try "\(child.processIdentifier)\n".write(toFile: scope + "/cgroup.procs", atomically: false, encoding: .utf8)
    }

    var processEnded: Bool { !child.isRunning }

    func remove() {
        if child.isRunning { kill(child.processIdentifier, SIGKILL) }
        child.waitUntilExit()
        // Leaves first: a cgroup goes only when it has no children and no process.
        var path = scope
        while path.count > root.count - 1 && path.hasPrefix(root) {
            for _ in 0..<50 where rmdir(path) != 0 && errno == EBUSY { usleep(20_000) }
            path = String(path[..<path.lastIndex(of: "/")!])
        }
    }
}
