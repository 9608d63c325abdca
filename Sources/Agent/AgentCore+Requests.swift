import ControlProtocol
import Foundation
import LinuxSystem
import Logging
import StateStore
import Systemd

extension AgentCore {
    /// Answers one control request. Requests are handled one at a time by the loop, so a
    /// `Register` waits behind the sign-ins before it, which is what a caller asking to
    /// "wait until registered" wants. A `Deregister` while the user's apps still run is answered
    /// later: it returns the timer that looks at them again, and the loop goes on meanwhile.
    @discardableResult
    func handle(_ connection: ControlConnection) async -> [DeregistrationTimer] {
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
                try await register(parameters, connection)
            case .deregister:
                let parameters = try decoder.decode(ControlRequest<DeregisterParameters>.self, from: data).parameters
                return try await deregister(parameters, connection)
            case .completeRegistration:
                let parameters = try decoder.decode(ControlRequest<CompleteRegistrationParameters>.self, from: data).parameters
                try await complete(parameters, connection)
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

    private func register(_ parameters: RegisterParameters, _ connection: ControlConnection) async throws {
        let takenAt = JournalClock.nowMicroseconds()
        let account = try target(parameters.user, connection.peer)
        let wait = parameters.wait ?? false
        // Once per sign-in: the PAM hook and logind both ask for every session, and the
        // second asker only needs to know it is done. A sign-in queued for registration is
        // registered by this request, now.
        dropQueuedSignIn(account.uid)
        if registered[account.uid] != nil {
            let packages = ((try? database.registrations(ofUID: account.uid)) ?? []).map(\.packageFullName)
            connection.reply(UserRegistrationReply(user: account.name, uid: account.uid, packages: packages, done: true))
            return requestAnswered(account, connection, takenAt: takenAt, how: "registered already")
        }
        if !wait {
            connection.reply(UserRegistrationReply(user: account.name, uid: account.uid, packages: [], done: false))
            requestAnswered(account, connection, takenAt: takenAt, how: "not waiting")
        }
        do {
            let packages = try await register(account, session: nil)
            if wait {
                connection.reply(UserRegistrationReply(user: account.name, uid: account.uid, packages: packages, done: true))
                requestAnswered(account, connection, takenAt: takenAt, how: "registered now")
            }
        } catch {
            if wait { throw error }
            logger.error("cannot register the packages of \(account.name): \(error)")
        }
    }

    /// Journals a Register request with when it arrived, when the loop took it and when it was
    /// answered: how long a sign-in held by the PAM hook waited, and why.
    private func requestAnswered(_ account: UserAccount, _ connection: ControlConnection, takenAt: UInt64, how: String) {
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

    private func deregister(_ parameters: DeregisterParameters, _ connection: ControlConnection) async throws -> [DeregistrationTimer] {
        let account = try target(parameters.user, connection.peer)
        dropQueuedSignIn(account.uid)
        let request = PendingDeregistration(connection: connection, wait: parameters.wait ?? false,
                                            reason: connection.peer.uid == 0 ? "asked by root" : "asked by the user")
        if !request.wait { connection.reply(UserRegistrationReply(user: account.name, uid: account.uid, packages: [], done: false)) }
        var wait = appWaits[account.uid] ?? AppWait()
        if let delay = appWaitStep(account, families: familyNames(of: registeredPackages(of: account.uid)), &wait) {
            appWaits[account.uid] = wait
            pendingDeregistrations[account.uid, default: []].append(request)
            return [DeregistrationTimer(uid: account.uid, generation: signInGeneration[account.uid] ?? 0, delay: delay, requested: true)]
        }
        appWaits[account.uid] = nil
        await finishDeregistration(account, [request])
        return []
    }

    /// Deregisters `account` (its apps have ended) and answers the requests that asked for it.
    func finishDeregistration(_ account: UserAccount, _ requests: [PendingDeregistration]) async {
        do {
            let packages = try await deregister(account, reason: requests.first?.reason ?? "asked", appsEnded: true)
            stager.destageUnused()
            for request in requests where request.wait {
                request.connection.reply(UserRegistrationReply(user: account.name, uid: account.uid, packages: packages, done: true))
            }
        } catch {
            logger.error("cannot deregister the packages of \(account.name): \(error)")
            for request in requests where request.wait { request.connection.fail(.failed, "\(error)") }
        }
    }

    /// Requests still waiting for a user's apps when the agent stops are told so.
    func abandonPendingDeregistrations() {
        for request in pendingDeregistrations.values.joined() where request.wait {
            request.connection.fail(.shuttingDown, "the appattach agent is stopping")
        }
        pendingDeregistrations = [:]
    }

    private func complete(_ parameters: CompleteRegistrationParameters, _ connection: ControlConnection) async throws {
        // Always the caller's own registration: the uid comes from the kernel, not the request.
        let account = try Self.account(String(connection.peer.uid))
        let (package, app, now) = try await completeRegistration(account, aumid: parameters.appUserModelId)
        connection.reply(CompleteRegistrationReply(
            packageFullName: package.fullName, packagePath: settings.stagingPaths.packageLink(package.fullName),
            executable: app?.executable?.replacingOccurrences(of: "\\", with: "/"), completedNow: now))
    }

    /// What is staged and registered; a user other than root sees only their own registrations.
    func status(for uid: UInt32) -> StatusReply {
        let all = stager.packages.values.flatMap { (try? database.registrations(ofPackage: $0.fullName)) ?? [] }
        let visible = uid == 0 ? all : all.filter { $0.uid == uid }
        let packages = stager.packages.values.sorted { $0.fullName < $1.fullName }.map { package in
            StatusReply.Package(fullName: package.fullName, imageID: package.imageID,
                                users: visible.filter { $0.packageFullName == package.fullName }.count)
        }
        let signedIn = tracker.signedIn.filter { uid == 0 || $0.key == uid }.values.sorted()
        return StatusReply(
            hostPool: hostPool.path, hostPoolProblem: hostPool.problem.map { "\($0)" }, activePackages: activeEntries.count,
            stagedImages: stager.images.count, packages: packages, signedInUsers: signedIn,
            registrations: visible.sorted { ($0.userName, $0.packageFullName) < ($1.userName, $1.packageFullName) }.map {
                StatusReply.Registration(user: $0.userName, uid: $0.uid, packageFullName: $0.packageFullName,
                                         mode: $0.mode.rawValue, state: $0.state.rawValue)
            })
    }

    private func history(_ parameters: HistoryParameters, _ connection: ControlConnection) throws {
        let limit = min(max(parameters.limit ?? 20, 0), 10_000)
        let uid = connection.peer.uid
        let events = try database.lastEvents(limit, uid: uid == 0 ? nil : uid)
        connection.reply(HistoryReply(events: events.map {
            HistoryReply.Event(time: $0.time, kind: $0.kind.rawValue, uid: $0.uid, package: $0.package, image: $0.image,
                               durationUsec: $0.durationUsec, message: $0.message)
        }))
    }
}

/// A request error for callers who may not do what they asked.
func PermissionDenied(_ message: String) -> AgentRequestError {
    AgentRequestError(name: .permissionDenied, description: message)
}
