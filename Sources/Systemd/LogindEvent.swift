/// A logind session as the agent needs it: who, what kind, and how alive.
public struct LogindSession: Sendable, Hashable {
    /// The session's class (`man sd_session_get_class`). Only `user` and `user-early` are people
    /// signing in; the others are greeters, lock screens, cron-like background work, and the
    /// `manager` session that user@.service registers for itself (systemd 256 and later).
    public struct SessionClass: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let user = SessionClass(rawValue: "user")
        public static let userEarly = SessionClass(rawValue: "user-early")
        public static let greeter = SessionClass(rawValue: "greeter")
        public static let lockScreen = SessionClass(rawValue: "lock-screen")
        public static let background = SessionClass(rawValue: "background")
        public static let manager = SessionClass(rawValue: "manager")
        /// True for the classes a sign-in is made of.
        public var countsAsSignIn: Bool { self == .user || self == .userEarly }
        public var description: String { rawValue }
    }

    /// The session's state (`man sd_session_get_state`).
    public struct State: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let opening = State(rawValue: "opening")
        public static let online = State(rawValue: "online")
        public static let active = State(rawValue: "active")
        /// The user logged out but processes of the session are still around; it can stay so for
        /// hours (KillUserProcesses=no), so it no longer counts as signed in.
        public static let closing = State(rawValue: "closing")
        public var description: String { rawValue }
    }

    /// logind's session id, e.g. `"3"` or `"c1"`.
    public var id: String
    /// The session's D-Bus object path.
    public var objectPath: String
    /// The user's uid.
    public var uid: UInt32
    /// The user's name as logind knows it.
    public var userName: String
    /// The session class.
    public var sessionClass: SessionClass
    /// The state when this value was read.
    public var state: State
    /// When the watcher learnt of the session (its `SessionNew`, or the login monitor's wake-up),
    /// in ``JournalClock`` microseconds; nil for a session listed at start or made elsewhere.
    public var signalledAt: UInt64?
    /// When the watcher had read the session's properties from logind, in ``JournalClock``
    /// microseconds; nil for a session made elsewhere.
    public var readAt: UInt64?

    /// Creates a session value.
    public init(id: String, objectPath: String = "", uid: UInt32, userName: String,
                sessionClass: SessionClass, state: State) {
        self.id = id
        self.objectPath = objectPath
        self.uid = uid
        self.userName = userName
        self.sessionClass = sessionClass
        self.state = state
    }
}

/// What ``LogindWatcher`` reports, in the order logind's signals arrived.
public enum LogindEvent: Sendable, Hashable {
    /// A session exists: from `SessionNew`, or from `ListSessions` when the watcher starts.
    case sessionAdded(LogindSession)
    /// A session's state changed (logind does not signal `State`; the watcher re-reads it when
    /// logind's session files change).
    case sessionStateChanged(sessionID: String, state: LogindSession.State)
    /// `SessionRemoved`: the session is gone from logind (this can be hours after sign-out).
    case sessionRemoved(sessionID: String)
    /// `UserNew`: logind started tracking a user.
    case userNew(uid: UInt32)
    /// `UserRemoved`: logind forgot the user: no session of theirs is left.
    case userRemoved(uid: UInt32)
}
