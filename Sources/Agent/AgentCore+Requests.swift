import ControlProtocol
import Foundation
import LinuxSystem
import Logging
import StateStore
import Systemd

extension AgentCore {
    /// Answers one control request, or starts what answers it. `Register`, `Deregister` and
    /// `CompleteRegistration` are operations in the user's lane, after the user's earlier ones
    /// (so a `Register` waits behind the sign-in before it, which is what a caller asking to
    /// "wait until registered" wants); the loop does not wait for their work in the home, and
    /// answers them when it comes back (`AgentCore+HomeWork.swift`). Returns the timers the
    /// loop is to run.
    @discardableResult
    func handle(_ connection: ControlConnection) async -> [LoopTimer] {
        let decoder = ControlCoding.decoder()
        let data = Data(connection.line.utf8)
        guard let head = try? decoder.decode(ControlRequestHead.self, from: data) else {
            connection.fail(.invalidParameter, "a request is one JSON object with a \"method\"")
            return []
        }
        guard let method = ControlMethod(rawValue: head.method) else {
            connection.fail(.methodNotFound, "no method \(head.method)")
            return []
        }
        if stopping {
            connection.fail(.shuttingDown, "the appattach agent is stopping")
            return []
        }
        do {
            switch method {
            case .register:
                let parameters = try decoder.decode(ControlRequest<RegisterParameters>.self, from: data).parameters
                return try await register(parameters, connection)
            case .deregister:
                let parameters = try decoder.decode(ControlRequest<DeregisterParameters>.self, from: data).parameters
                return try await deregister(parameters, connection)
            case .completeRegistration:
                let parameters = try decoder.decode(ControlRequest<CompleteRegistrationParameters>.self, from: data).parameters
                return try await complete(parameters, connection)
            case .status:
                connection.reply(status(for: connection.peer.uid))
            case .history:
                let parameters = try decoder.decode(ControlRequest<HistoryParameters>.self, from: data).parameters
                try history(parameters, connection)
            }
        } catch let error as AgentRequestError {
            connection.fail(error.name, error.description)
        } catch let error as DecodingError {
            connection.fail(.invalidParameter, "the parameters of \(method.rawValue) cannot be read: \(error)")
        } catch {
            connection.fail(.failed, "\(error)")
        }
        return []
    }

    /// The account a Register/Deregister is about, if the caller may ask: root for anyone,
    /// others only for themselves.
    private func target(_ user: String?, _ peer: UnixSocket.PeerCredentials) throws -> UserAccount {
        let account = try Self.account(user ?? String(peer.uid))
        guard peer.uid == 0 || peer.uid == account.uid else {
            throw PermissionDenied("only root may register or deregister another user's packages")
        }
        return account
    }

    private func register(_ parameters: RegisterParameters, _ connection: ControlConnection) async throws -> [LoopTimer] {
        let takenAt = JournalClock.nowMicroseconds()
        let account = try target(parameters.user, connection.peer)
        let wait = parameters.wait ?? false
        // Once per sign-in: the PAM hook and logind both ask for every session, and the
        // second asker only needs to know it is done. A sign-in queued for registration is
        // registered by this request, now.
        dropQueuedSignIn(account.uid)
        if registered[account.uid] != nil && !registrationIsLast(account.uid) {
            let packages = ((try? database.registrations(ofUID: account.uid)) ?? []).map(\.packageFullName)
            connection.reply(UserRegistrationReply(user: account.name, uid: account.uid, packages: packages, done: true))
            requestAnswered(account, connection, takenAt: takenAt, how: "registered already")
            return []
        }
        if !wait {
            connection.reply(UserRegistrationReply(user: account.name, uid: account.uid, packages: [], done: false))
            requestAnswered(account, connection, takenAt: takenAt, how: "not waiting")
        }
        var waiters = wait ? [RegisterWaiter(connection: connection, takenAt: takenAt)] : []
        if wait && refuseWhileUnresponsive(account.uid, connection, then: "the registration is tried again in the background") {
            requestAnswered(account, connection, takenAt: takenAt, how: "home not answering")
            waiters = []
        }
        // A registration under way (a sign-in's) answers this one too.
        if joinRegistration(account.uid, waiters) { return [] }
        return await submit(.register(RegisterOrder(account: account, session: nil, waiters: waiters)), uid: account.uid)
    }

    /// Journals a Register request with when it arrived, when the loop took it and when it was
    /// answered: how long a sign-in held by the PAM hook waited, and why.
    func requestAnswered(_ account: UserAccount, _ connection: ControlConnection, takenAt: UInt64, how: String) {
        let answeredAt = JournalClock.nowMicroseconds()
        let waited = Double(answeredAt &- connection.receivedAt) / 1000
        journal.event(.registrationRequested,
                      "registration of \(account.name) asked by uid \(connection.peer.uid), answered after \(String(format: "%.1f", waited)) ms (\(how))",
                      level: .info, .init(user: account.name, uid: account.uid, extra: [
                          "appattach.peer_uid": "\(connection.peer.uid)", "appattach.answer": "\(how)",
                          "appattach.received_at_usec": "\(connection.receivedAt)", "appattach.taken_at_usec": "\(takenAt)",
                          "appattach.answered_at_usec": "\(answeredAt)",
                      ]))
    }

    /// `Deregister`: an operation in the user's lane; while the user's apps still run it waits
    /// for them on the loop's timers, and the loop goes on meanwhile.
    private func deregister(_ parameters: DeregisterParameters, _ connection: ControlConnection) async throws -> [LoopTimer] {
        let account = try target(parameters.user, connection.peer)
        dropQueuedSignIn(account.uid)
        var request = PendingDeregistration(connection: connection, wait: parameters.wait ?? false,
                                            reason: connection.peer.uid == 0 ? "asked by root" : "asked by the user")
        if !request.wait { connection.reply(UserRegistrationReply(user: account.name, uid: account.uid, packages: [], done: false)) }
        if request.wait && refuseWhileUnresponsive(account.uid, connection, then: "the deregistration is done after the work that waits for the home") {
            request.wait = false
        }
        if joinDeregistration(account.uid, request) { return [] }
        return await submit(.deregister(DeregisterOrder(uid: account.uid, reason: request.reason, requests: [request])), uid: account.uid)
    }

    /// `CompleteRegistration` (a launch): an operation in the caller's lane.
    private func complete(_ parameters: CompleteRegistrationParameters, _ connection: ControlConnection) async throws -> [LoopTimer] {
        // Always the caller's own registration: the uid comes from the kernel, not the request.
        let account = try Self.account(String(connection.peer.uid))
        _ = try Self.appIDParts(parameters.appUserModelId)
        if refuseWhileUnresponsive(account.uid, connection, then: "try again later") { return [] }
        return await submit(.complete(CompleteOrder(account: account, aumid: parameters.appUserModelId, connection: connection)),
                            uid: account.uid)
    }

    /// What is staged and registered; a user other than root sees only their own registrations.
    func status(for uid: UInt32) -> StatusReply {
        // One read and one count per package: a host may stage thousands of packages.
        let all = ((try? database.allRegistrations()) ?? []).filter { stager.packages[$0.packageFullName] != nil }
        let visible = uid == 0 ? all : all.filter { $0.uid == uid }
        let users = Dictionary(grouping: visible, by: \.packageFullName).mapValues(\.count)
        let packages = stager.packages.values.sorted { $0.fullName < $1.fullName }.map { package in
            StatusReply.Package(fullName: package.fullName, imageID: package.imageID, users: users[package.fullName] ?? 0)
        }
        let signedIn = tracker.signedIn.filter { uid == 0 || $0.key == uid }.values.sorted()
        return StatusReply(
            hostPool: hostPool.path, hostPoolProblem: hostPool.problem.map { "\($0)" }, activePackages: activeEntries.count,
            stagedImages: stager.imageCount, packages: packages, signedInUsers: signedIn,
            registrations: visible.sorted { ($0.userName, $0.packageFullName) < ($1.userName, $1.packageFullName) }.map {
                StatusReply.Registration(user: $0.userName, uid: $0.uid, packageFullName: $0.packageFullName,
                                         mode: $0.mode.rawValue, state: $0.state.rawValue)
            },
            unresponsiveHomes: unresponsiveHomes.values.filter { uid == 0 || $0.uid == uid }.sorted { $0.user < $1.user }.map {
                StatusReply.UnresponsiveHome(user: $0.user, uid: $0.uid, phase: $0.phase.rawValue, since: $0.since,
                                             reason: $0.reason, nextAttempt: $0.nextAttempt)
            },
            refusedPackages: stager.refused.flatMap { image, folders in
                folders.map { StatusReply.RefusedPackage(fullName: $0.key, imageID: image, reason: $0.value) }
            }.sorted { ($0.fullName, $0.imageID) < ($1.fullName, $1.imageID) },
            health: health.report)
    }
}

/// A request error for callers who may not do what they asked.
func PermissionDenied(_ message: String) -> AgentRequestError {
    AgentRequestError(name: .permissionDenied, description: message)
}
