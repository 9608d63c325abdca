/// What the agent does about a user after a logind event.
public enum SignInDecision: Sendable, Hashable {
    /// The user's first counted session appeared: register their packages.
    case signedIn(uid: UInt32, userName: String, sessionID: String)
    /// The user has no counted session left: deregister and save their data.
    case signedOut(uid: UInt32, userName: String, reason: SignOutReason)
}

/// Why a user counts as signed out.
public enum SignOutReason: String, Sendable, Hashable {
    /// The last counted session entered state `closing` (processes may linger for hours).
    case lastSessionClosing = "last-session-closing"
    /// The last counted session was removed.
    case lastSessionRemoved = "last-session-removed"
    /// logind reported `UserRemoved` while sessions were still counted (missed or late signals).
    case userRemoved = "user-removed"
}

/// Turns the stream of ``LogindEvent``s into sign-in and sign-out decisions. Pure: no D-Bus, no
/// clock, so the decision table is tested directly.
///
/// A user is signed in while they have at least one session of class `user` or `user-early`
/// that is not `closing`. `signedIn` comes on the first such session, `signedOut` when the
/// count drops to zero or on `UserRemoved`, whichever is first; each comes once per sign-in.
/// Events about unknown sessions or users are ignored, so late or duplicated signals (a
/// `SessionRemoved` hours after the session went `closing`, one after `UserRemoved`) do nothing.
public struct SignInTracker: Sendable {
    /// Sessions logind reported and that were not removed, by id, of every class: a session's
    /// class never changes, but keeping them all lets a late state change be checked.
    public private(set) var sessions: [String: LogindSession] = [:]
    /// Users currently signed in, with the name from their first counted session.
    public private(set) var signedIn: [UInt32: String] = [:]

    /// Creates a tracker that knows no sessions.
    public init() {}

    /// Feeds one event; returns the decisions it leads to (none, or one).
    public mutating func handle(_ event: LogindEvent) -> [SignInDecision] {
        switch event {
        case .sessionAdded(let session):
            // A repeated add (start-up enumeration racing SessionNew) just refreshes the session.
            sessions[session.id] = session
            return reconcile(uid: session.uid, userName: session.userName, trigger: session.id, removal: .lastSessionClosing)
        case .sessionStateChanged(let id, let state):
            guard var session = sessions[id], session.state != state else { return [] }
            session.state = state
            sessions[id] = session
            return reconcile(uid: session.uid, userName: session.userName, trigger: id, removal: .lastSessionClosing)
        case .sessionRemoved(let id):
            guard let session = sessions.removeValue(forKey: id) else { return [] }
            return reconcile(uid: session.uid, userName: session.userName, trigger: id, removal: .lastSessionRemoved)
        case .userNew:
            // A user without a session says nothing about signing in: lingering users and
            // user@.service start-ups have no counted session.
            return []
        case .userRemoved(let uid):
            // logind is authoritative: a user it forgot has no session, whatever we missed.
            sessions = sessions.filter { $0.value.uid != uid }
            guard let name = signedIn.removeValue(forKey: uid) else { return [] }
            return [.signedOut(uid: uid, userName: name, reason: .userRemoved)]
        }
    }

    /// The number of counted (class `user`/`user-early`, not `closing`) sessions of a user.
    public func countedSessions(of uid: UInt32) -> Int {
        sessions.values.filter { $0.uid == uid && Self.counts($0) }.count
    }

    /// True when a session makes its user signed in.
    public static func counts(_ session: LogindSession) -> Bool {
        session.sessionClass.countsAsSignIn && session.state != .closing
    }

    private mutating func reconcile(uid: UInt32, userName: String, trigger sessionID: String,
                                    removal reason: SignOutReason) -> [SignInDecision] {
        let count = countedSessions(of: uid)
        if count > 0, signedIn[uid] == nil {
            signedIn[uid] = userName
            return [.signedIn(uid: uid, userName: userName, sessionID: sessionID)]
        }
        if count == 0, let name = signedIn.removeValue(forKey: uid) {
            return [.signedOut(uid: uid, userName: name, reason: reason)]
        }
        return []
    }
}
