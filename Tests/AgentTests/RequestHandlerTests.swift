import ControlProtocol
import Foundation
import Glibc
import HostPool
import Logging
import StateStore
import Testing
import TestSupport
@testable import Agent
@testable import LinuxSystem

/// An agent core answering its control socket in a scratch directory: a real `ControlServer`
/// on a real Unix socket, a real state database on disk, the requests handled one at a time
/// the way the event loop does. Nothing is staged and no host-pool file is there unless a
/// test writes one, so none of it needs root; only acting as a second user does.
final class AgentUnderTest {
    let directory = TestEnvironment.makeTemporaryDirectory("requests")
    let core: AgentCore
    let server: ControlServer
    private var connections: AsyncStream<ControlConnection>.Iterator

    /// `logger`: where the core logs (nowhere by default); `configure` changes the host
    /// configuration before the core is made.
    init(logger: Logger = Logger(label: "appattachd-test") { _ in SwiftLogNoOpLogHandler() },
         configure: (inout HostConfig) -> Void = { _ in }) throws {
        var config = HostConfig(share: .init(path: directory + "/share"), pool: "pool1",
                                stateDirectory: directory + "/state", runtimeDirectory: directory + "/run")
        // Unsigned test packages: signatures are PackageTrust's and SignaturePolicyTests' concern.
        config.signaturePolicy = .optional
        configure(&config)
        // Traversable by the second user, like /run/appattach.
        chmod(directory, 0o755)
        let settings = AgentSettings(config: config, configPath: directory + "/appattach.toml")
        let database: StateDatabase
        do {
            try FileManager.default.createDirectory(atPath: config.runtimeDirectory, withIntermediateDirectories: true)
            database = try StateDatabase.open(directory: config.stateDirectory)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        core = AgentCore(settings: settings, database: database, logger: logger)
        // As at the agent's start: no host-pool file on the share, so none is in force.
        core.refreshHostPool()
        let (stream, input) = AsyncStream.makeStream(of: ControlConnection.self)
        connections = stream.makeAsyncIterator()
        do {
            server = try ControlServer(path: settings.socketPath, logger: logger) { input.yield($0) }
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        server.start()
    }

    deinit {
        server.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var socketPath: String { core.settings.socketPath }

    /// Who sends a request: root, or a user who is not root. Run as root, the user is
    /// `nobody`, on a client thread switched to its uid (`SO_PEERCRED` then reports it); run
    /// unprivileged, the user is the test process itself.
    enum Caller {
        case root
        case user
    }

    /// The account a `.user` caller has.
    static func userAccount() throws -> UserAccount {
        let account = geteuid() == 0 ? try Accounts.account(named: "nobody") : try Accounts.account(id: geteuid())
        return try #require(account, "the test needs the account 'nobody' (or its own) in NSS")
    }

    /// Sends `line` as `caller` and returns the reply line, after the core answered it.
    func send(_ line: String, as caller: Caller = .root) async throws -> String {
        let path = socketPath
        let user = caller == .user && geteuid() == 0 ? try Self.userAccount() : nil
        async let reply = Self.onClientThread(as: user) { () throws -> String in
            let socket = try UnixSocket.connect(to: path)
            defer { socket.close() }
            try socket.setReceiveTimeout(.seconds(10))
            try socket.writeLine(line)
            return try socket.readLine() ?? ""
        }
        let connection = try #require(await connections.next(), "the server delivered no request")
        await core.handle(connection)
        return try await reply
    }

    /// Calls `method` as `caller` and decodes the reply; an error reply throws `ControlClientError`.
    func call<P: Codable & Sendable, R: Codable & Sendable>(_ method: ControlMethod, _ parameters: P, as caller: Caller = .root,
                                                           reply: R.Type) async throws -> R {
        let line = try ControlCoding.line(ControlRequest(method: method, parameters: parameters))
        return try ControlClient.decodeReply(try await send(line, as: caller), as: R.self)
    }

    /// Runs `body` on a thread of its own (blocking socket calls stay off the cooperative
    /// pool), switched to `user`'s ids while it runs if given.
    private static func onClientThread<T: Sendable>(as user: UserAccount?, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    let credentials = try user.map { try ThreadCredentials.become($0) }
                    let result = Result { try body() }
                    try credentials?.restore()
                    continuation.resume(with: result)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
    }
}

/// The error name of a failed call, or nil if it did not fail.
func errorName(_ call: () async throws -> Void) async -> ControlErrorName? {
    do {
        try await call()
        return nil
    } catch let error as ControlClientError {
        return error.name.flatMap(ControlErrorName.init(rawValue:))
    } catch {
        Issue.record("not a control error: \(error)")
        return nil
    }
}

@Suite("control request handlers")
struct RequestHandlerTests {
    @Test("a line that is not a request, an unknown method, unreadable parameters: each refused with its error name")
    func badRequests() async throws {
        let agent = try AgentUnderTest()
        let notJSON = try await agent.send("register alice")
        #expect(notJSON.contains(ControlErrorName.invalidParameter.rawValue), "\(notJSON)")
        let unknown = try await agent.send(#"{"method":"io.appattach.Manager.Format","parameters":{}}"#)
        #expect(unknown.contains(ControlErrorName.methodNotFound.rawValue) && unknown.contains("no method io.appattach.Manager.Format"),
                "\(unknown)")
        let badParameters = try await agent.send(#"{"method":"\#(ControlMethod.register.rawValue)","parameters":{"user":5}}"#)
        #expect(badParameters.contains(ControlErrorName.invalidParameter.rawValue) && badParameters.contains("cannot be read"),
                "\(badParameters)")
        let badLimit = try await agent.send(#"{"method":"\#(ControlMethod.history.rawValue)","parameters":{"limit":"all"}}"#)
        #expect(badLimit.contains(ControlErrorName.invalidParameter.rawValue), "\(badLimit)")
    }

    @Test("register and deregister: a user only for themselves; unknown users named")
    func registerPermissions() async throws {
        let agent = try AgentUnderTest()
        let user = try AgentUnderTest.userAccount()
        // Someone who is not the caller: root for a user; for root, the user.
        for method in [ControlMethod.register, .deregister] {
            let other = await errorName {
                _ = try await agent.call(method, RegisterParameters(user: "root", wait: true), as: .user, reply: UserRegistrationReply.self)
            }
            #expect(other == .permissionDenied, "\(method.rawValue) for root by \(user.name)")
        }
        // For themselves the permission check passes; with no host-pool file in force the
        // registration itself fails, and says why.
        do {
            _ = try await agent.call(.register, RegisterParameters(user: nil, wait: true), as: .user, reply: UserRegistrationReply.self)
            Issue.record("registering with no host pool must fail")
        } catch let error as ControlClientError {
            #expect(error.name == ControlErrorName.failed.rawValue && error.message.contains("no host pool file in force"), "\(error)")
        }
        // Deregistering someone with nothing registered is done at once, and says so.
        let deregistered = try await agent.call(.deregister, DeregisterParameters(user: user.name, wait: true), as: .user,
                                                reply: UserRegistrationReply.self)
        #expect(deregistered == UserRegistrationReply(user: user.name, uid: user.uid, packages: [], done: true))
        let unknown = await errorName {
            _ = try await agent.call(.register, RegisterParameters(user: "appattach-no-such-user", wait: true), reply: UserRegistrationReply.self)
        }
        #expect(unknown == .noSuchUser)
    }

    @Test("root may register and deregister another user", .enabled(if: TestEnvironment.isRoot, "needs root: root acts for nobody"))
    func rootRegistersAnotherUser() async throws {
        let agent = try AgentUnderTest()
        let user = try AgentUnderTest.userAccount()
        let forUser = await errorName {
            _ = try await agent.call(.register, RegisterParameters(user: user.name, wait: true), reply: UserRegistrationReply.self)
        }
        #expect(forUser == .failed, "root may register anyone: refused only for want of a host pool")
        let byRoot = try await agent.call(.deregister, DeregisterParameters(user: user.name, wait: true), reply: UserRegistrationReply.self)
        #expect(byRoot.done && byRoot.uid == user.uid)
    }

    @Test("register without wait answers at once; a second request in the same sign-in is answered as done")
    func registerOncePerSignIn() async throws {
        let agent = try AgentUnderTest()
        let user = try AgentUnderTest.userAccount()
        let first = try await agent.call(.register, RegisterParameters(user: nil, wait: false), as: .user, reply: UserRegistrationReply.self)
        #expect(first == UserRegistrationReply(user: user.name, uid: user.uid, packages: [], done: false))
        // As if logind's sign-in had registered the user already.
        agent.core.registered[user.uid] = "3"
        let again = try await agent.call(.register, RegisterParameters(user: nil, wait: true), as: .user, reply: UserRegistrationReply.self)
        #expect(again == UserRegistrationReply(user: user.name, uid: user.uid, packages: [], done: true))
    }

    @Test("completeRegistration: only the caller's own, a malformed app id and a package not registered are refused")
    func completeRegistration() async throws {
        let agent = try AgentUnderTest()
        let user = try AgentUnderTest.userAccount()
        let malformed = await errorName {
            _ = try await agent.call(.completeRegistration, CompleteRegistrationParameters(appUserModelId: "Demo.App_8wekyb3d8bbwe"),
                                     as: .user, reply: CompleteRegistrationReply.self)
        }
        #expect(malformed == .invalidParameter)
        let missing = await errorName {
            _ = try await agent.call(.completeRegistration, CompleteRegistrationParameters(appUserModelId: "Demo.App_8wekyb3d8bbwe!App"),
                                     as: .user, reply: CompleteRegistrationReply.self)
        }
        #expect(missing == .notRegistered)
        do {
            _ = try await agent.call(.completeRegistration, CompleteRegistrationParameters(appUserModelId: "Demo.App_8wekyb3d8bbwe!App"),
                                     as: .user, reply: CompleteRegistrationReply.self)
        } catch let error as ControlClientError {
            #expect(error.message.contains("not registered for \(user.name)"), "the caller's uid decides whose: \(error)")
        }
    }

    /// Records "event 0" and "event 2" for `user`, "event 1" for another uid.
    static func recordThreeEvents(in agent: AgentUnderTest, user: UserAccount) throws {
        let otherUID: UInt32 = user.uid == 0 ? 4_000_000 : 0
        let start = Date()
        for (offset, uid) in [user.uid, otherUID, user.uid].enumerated() {
            try agent.core.database.record(EventRecord(time: start + Double(offset), kind: .registered, uid: uid,
                                                       package: "Demo.App\(offset)_1.0.0.0_neutral__8wekyb3d8bbwe", message: "event \(offset)"))
        }
    }

    @Test("status and history: a user sees only their own")
    func statusAndHistory() async throws {
        let agent = try AgentUnderTest()
        let user = try AgentUnderTest.userAccount()
        try Self.recordThreeEvents(in: agent, user: user)
        let own = try await agent.call(.history, HistoryParameters(limit: 100), as: .user, reply: HistoryReply.self)
        #expect(own.events.map(\.message) == ["event 0", "event 2"])
        let last = try await agent.call(.history, HistoryParameters(limit: 1), as: .user, reply: HistoryReply.self)
        #expect(last.events.map(\.message) == ["event 2"])

        let status = try await agent.call(.status, StatusParameters(), as: .user, reply: StatusReply.self)
        #expect(status.stagedImages == 0 && status.registrations.isEmpty)
        #expect(status.hostPoolProblem != nil, "no host-pool file: the status says so")
    }

    @Test("root's history holds everyone's events, and those of no user", .enabled(if: TestEnvironment.isRoot, "needs root: root's view"))
    func rootSeesEveryonesHistory() async throws {
        let agent = try AgentUnderTest()
        let user = try AgentUnderTest.userAccount()
        try Self.recordThreeEvents(in: agent, user: user)
        let all = try await agent.call(.history, HistoryParameters(limit: nil), reply: HistoryReply.self)
        #expect(all.events.filter { $0.kind == "registered" }.map(\.message) == ["event 0", "event 1", "event 2"])
        #expect(all.events.contains { $0.kind == "hostpool-rejected" && $0.uid == nil }, "events of no user are root's to see")
    }

    @Test("once stopping, every request is refused as shutting down")
    func shuttingDown() async throws {
        let agent = try AgentUnderTest()
        agent.core.stopping = true
        for method in [ControlMethod.register, .deregister, .status, .history] {
            let line = try await agent.send(#"{"method":"\#(method.rawValue)","parameters":{}}"#, as: .user)
            #expect(line.contains(ControlErrorName.shuttingDown.rawValue), "\(method.rawValue): \(line)")
        }
    }
}
