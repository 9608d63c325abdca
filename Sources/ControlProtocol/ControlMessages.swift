import Foundation
import Health

/// `Register`: register `user`'s packages. With `wait`, the reply comes when they are
/// registered (the PAM hook's way of holding a sign-in); without, as soon as the work is queued.
public struct RegisterParameters: Codable, Sendable, Equatable {
    /// A user name or uid; nil means the caller.
    public var user: String?
    public var wait: Bool?
    public init(user: String?, wait: Bool) { self.user = user; self.wait = wait }
}

/// `Deregister`: deregister `user`'s packages; same `user` and `wait` rules as `Register`.
public struct DeregisterParameters: Codable, Sendable, Equatable {
    public var user: String?
    public var wait: Bool?
    public init(user: String?, wait: Bool) { self.user = user; self.wait = wait }
}

/// What `Register` and `Deregister` did (or, without `wait`, were asked to do).
public struct UserRegistrationReply: Codable, Sendable, Equatable {
    public var user: String
    public var uid: UInt32
    /// The PackageFullNames registered (Register) or deregistered (Deregister); empty when the
    /// reply did not wait.
    public var packages: [String]
    /// True when the reply came after the work was done.
    public var done: Bool
    public init(user: String, uid: UInt32, packages: [String], done: Bool) {
        self.user = user; self.uid = uid; self.packages = packages; self.done = done
    }
}

/// `CompleteRegistration`: the caller is about to start app `appUserModelId` (`PFN!AppId`).
public struct CompleteRegistrationParameters: Codable, Sendable, Equatable {
    public var appUserModelId: String
    public init(appUserModelId: String) { self.appUserModelId = appUserModelId }
}

/// Where the app to start lives, once its registration is complete.
public struct CompleteRegistrationReply: Codable, Sendable, Equatable {
    public var packageFullName: String
    /// The package's published directory, `/run/appattach/packages/<PackageFullName>`.
    public var packagePath: String
    /// The app's `Executable`, relative to the package directory, with `/` separators.
    public var executable: String?
    /// True when this call completed a delayed registration; false when it was complete already.
    public var completedNow: Bool
    public init(packageFullName: String, packagePath: String, executable: String?, completedNow: Bool) {
        self.packageFullName = packageFullName; self.packagePath = packagePath
        self.executable = executable; self.completedNow = completedNow
    }
}

/// `Status` takes no parameters.
public struct StatusParameters: Codable, Sendable, Equatable {
    public init() {}
}

/// The agent's view of the host.
public struct StatusReply: Codable, Sendable, Equatable {
    /// One staged package.
    public struct Package: Codable, Sendable, Equatable {
        public var fullName: String
        public var imageID: String
        /// How many users have it registered (the caller's own registrations only, for non-root callers).
        public var users: Int
        public init(fullName: String, imageID: String, users: Int) {
            self.fullName = fullName; self.imageID = imageID; self.users = users
        }
    }
    /// One registration.
    public struct Registration: Codable, Sendable, Equatable {
        public var user: String
        public var uid: UInt32
        public var packageFullName: String
        public var mode: String
        public var state: String
        public init(user: String, uid: UInt32, packageFullName: String, mode: String, state: String) {
            self.user = user; self.uid = uid; self.packageFullName = packageFullName; self.mode = mode; self.state = state
        }
    }

    /// A user whose home did not answer: the agent set the work there aside and tries again.
    public struct UnresponsiveHome: Codable, Sendable, Equatable {
        public var user: String
        public var uid: UInt32
        /// What did not answer: `register`, `complete`, `restore`, `push` or `deregister`.
        public var phase: String
        /// Since when (the first job that did not answer in this episode).
        public var since: Date
        /// Why, naming the home.
        public var reason: String
        /// When the work is tried again, if it is.
        public var nextAttempt: Date?
        public init(user: String, uid: UInt32, phase: String, since: Date, reason: String, nextAttempt: Date?) {
            self.user = user; self.uid = uid; self.phase = phase; self.since = since; self.reason = reason
            self.nextAttempt = nextAttempt
        }
    }

    /// The host-pool file the agent follows.
    public var hostPool: String
    /// Why the current host-pool file is not in force, when it is not (the last good one is).
    public var hostPoolProblem: String?
    /// Active packages in the host pool in force.
    public var activePackages: Int
    public var stagedImages: Int
    public var packages: [Package]
    /// Users the agent counts as signed in (root callers only; others see themselves).
    public var signedInUsers: [String]
    public var registrations: [Registration]
    /// Users whose homes do not answer (root callers see all; others only themselves); nil
    /// from an agent before this field.
    public var unresponsiveHomes: [UnresponsiveHome]?
    /// Package folders of staged images that are not exposed, and why; nil from an agent
    /// before this field.
    public var refusedPackages: [RefusedPackage]?
    /// The host's health with a reason per package that failed to stage; nil from an agent
    /// before this field.
    public var health: HealthReport?

    /// A package folder of a staged image that the agent did not expose.
    public struct RefusedPackage: Codable, Sendable, Equatable {
        /// The folder's name (the PackageFullName it claims).
        public var fullName: String
        public var imageID: String
        public var reason: String
        public init(fullName: String, imageID: String, reason: String) {
            self.fullName = fullName; self.imageID = imageID; self.reason = reason
        }
    }

    public init(hostPool: String, hostPoolProblem: String?, activePackages: Int, stagedImages: Int,
                packages: [Package], signedInUsers: [String], registrations: [Registration],
                unresponsiveHomes: [UnresponsiveHome]? = nil, refusedPackages: [RefusedPackage]? = nil,
                health: HealthReport? = nil) {
        self.hostPool = hostPool; self.hostPoolProblem = hostPoolProblem; self.activePackages = activePackages
        self.stagedImages = stagedImages; self.packages = packages; self.signedInUsers = signedInUsers
        self.registrations = registrations; self.unresponsiveHomes = unresponsiveHomes
        self.refusedPackages = refusedPackages
        self.health = health
    }
}

/// `History`: the last `limit` events (default 20, at most ``maximumLimit`` a call), or with
/// `before`, the `limit` events before that one: the `next` of the previous reply. A caller
/// who wants more than one page asks again with `before`, newest page first.
public struct HistoryParameters: Codable, Sendable, Equatable {
    /// Events one reply holds at most, whatever `limit` asks: no single reply is huge. A page
    /// may hold fewer when its events are long (the agent keeps a reply under its size cap),
    /// with `next` set all the same.
    public static let maximumLimit = 1_000
    /// How many events when `limit` is not given.
    public static let defaultLimit = 20

    public var limit: Int?
    /// The id of an event (a reply's `next`): only events older than it.
    public var before: Int64?
    public init(limit: Int?, before: Int64? = nil) { self.limit = limit; self.before = before }
}

/// Events, oldest first.
public struct HistoryReply: Codable, Sendable, Equatable {
    /// One event as the state database keeps it.
    public struct Event: Codable, Sendable, Equatable {
        /// The event's id in the state database (nil from agents before paging).
        public var id: Int64?
        public var time: Date
        public var kind: String
        public var uid: UInt32?
        public var package: String?
        public var image: String?
        public var durationUsec: Int64?
        public var message: String
        public init(id: Int64? = nil, time: Date, kind: String, uid: UInt32?, package: String?, image: String?,
                    durationUsec: Int64?, message: String) {
            self.id = id; self.time = time; self.kind = kind; self.uid = uid; self.package = package; self.image = image
            self.durationUsec = durationUsec; self.message = message
        }
    }
    public var events: [Event]
    /// When older events are there: the `before` that asks for them. Nil at the oldest.
    public var next: Int64?
    public init(events: [Event], next: Int64? = nil) { self.events = events; self.next = next }
}
