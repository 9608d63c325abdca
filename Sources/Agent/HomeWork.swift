import AppData
import ControlProtocol
import Foundation
import LinuxSystem
import MSIX
import Registration

/// What part of a user's home work did not answer, as `appattach.phase` (`APPATTACH_PHASE`)
/// and `appattachctl status` name it.
enum HomePhase: String, Sendable {
    /// Writing the registration files at sign-in (or for a `Register` request).
    case register
    /// Writing the rest of a delayed registration at the first launch.
    case complete
    /// Making a layer from the saved app data (at a regular registration, or a launch).
    case restore
    /// Saving a layer into the profile at sign-out.
    case push
    /// Removing the registration files at sign-out (or for a `Deregister` request).
    case deregister
}

/// Something to do in one user's home. The loop does its own part (planning, recording,
/// answering) and hands the part in the home to the `UserFiles` workers without waiting for
/// it; one user's operations run one after another in their lane (`HomeLane`).
enum HomeOperation {
    case register(RegisterOrder)
    case complete(CompleteOrder)
    case deregister(DeregisterOrder)

    /// For messages: what it is.
    var name: String {
        switch self {
        case .register: "registration"
        case .complete: "completion at launch"
        case .deregister: "deregistration"
        }
    }
}

/// A `Register` request that waits for its answer, with when the loop took it.
struct RegisterWaiter {
    var connection: ControlConnection
    var takenAt: UInt64
}

/// A registration of every package assigned to `account`.
struct RegisterOrder {
    var account: UserAccount
    /// The logind session that signed the user in, if any.
    var session: String?
    /// Requests answered when it is done (or failed).
    var waiters: [RegisterWaiter] = []
    /// Set once the packages no longer assigned were deregistered ahead of it.
    var staleHandled = false
}

/// The completion of a delayed registration at a launch (`CompleteRegistration`).
struct CompleteOrder {
    var account: UserAccount
    var aumid: String
    var connection: ControlConnection
    /// The package and app, once the loop has checked the request.
    var package: StagedPackageInfo?
    var app: AppxManifest.Application?
}

/// A deregistration of `packages` (every registered one when nil) for `uid`.
struct DeregisterOrder {
    /// When a deregistration is dropped because the user is signed in again.
    enum SignedOutCheck {
        /// A sign-out's: dropped if the user signed in since (the sign-in generation moved on).
        case since(generation: Int)
        /// Left over from before a start: dropped while the user has a session.
        case now
    }

    var uid: UInt32
    var packages: [String]?
    var reason: String
    /// `Deregister` requests answered when it is done.
    var requests: [AgentCore.PendingDeregistration] = []
    /// Set once no app of the packages runs any more (or they outlived their stop).
    var appsEnded = false
    /// Where waiting for the apps stands.
    var appWait: AgentCore.AppWait?
    var onlyIfSignedOut: SignedOutCheck?
    /// A registration that waits for this one (its packages no longer assigned go first): it
    /// goes on after it, or fails with its error.
    var then: RegisterOrder?
    /// The account, once looked up on the loop.
    var account: UserAccount?
    /// The PackageFullNames deregistered, once read on the loop (`packages`, or every one).
    var resolved: [String]?
}

/// One user's home work, in order: the operation under way (its job in flight, or parked
/// while apps end or until a new attempt), and those after it.
struct HomeLane {
    var current: HomeOperation?
    /// The token of `current`'s job in flight; nil while the operation is parked.
    var token: Int?
    /// Bumped at every park: a timer of an earlier park is stale.
    var park = 0
    var waiting: [HomeOperation] = []
    /// Attempts of `current` that met a home that did not answer.
    var attempts = 0
    /// Images `current` registers from: not destaged while it runs.
    var images: Set<String> = []
}

/// A user whose home did not answer: shown by `appattachctl status` until a later job there
/// finishes in time.
struct UnresponsiveHome {
    var user: String
    var uid: UInt32
    var phase: HomePhase
    var since: Date
    var reason: String
    var nextAttempt: Date?
}

/// A timer the loop runs for the core: `command` after `delay`.
struct LoopTimer: Sendable {
    var delay: Duration
    var command: AgentCommand
}

/// The result of home work done off the loop, handed back to it.
struct HomeWorkDone: Sendable {
    var uid: UInt32
    /// The lane's token when the work was launched.
    var token: Int
    var result: HomeWorkResult
}

/// What the part of an operation done in the home found.
enum HomeWorkResult: Sendable {
    case registration(AgentCore.RegistrationWork, AgentCore.RegistrationWritten)
    case completion(CompletionWritten)
    case deregistration(DeregistrationWritten)

    /// The phase and the error when a job in the home did not answer.
    var unresponsive: (HomePhase, HomeUnresponsive)? {
        switch self {
        case .registration(_, let written):
            if case .failure(let error) = written.files, let found = error.unresponsive { return (.register, found) }
            for layer in written.layers {
                if case .failure(let error) = layer.result, let found = error.unresponsive { return (.restore, found) }
            }
        case .completion(let written):
            if case .failure(let error) = written.preparation, let found = error.unresponsive { return (.restore, found) }
            if case .failure(let error)? = written.files, let found = error.unresponsive { return (.complete, found) }
        case .deregistration(let written):
            return written.unresponsive
        }
        return nil
    }
}

/// What completing a registration at a launch did in the home.
struct CompletionWritten: Sendable {
    var preparation: Result<AppDataStore.Preparation, AppDataError>
    var preparationTime: Duration
    /// The registration files of a delayed registration; nil when it was complete already or
    /// the layer failed.
    var files: Result<Void, RegistrationError>?
    var duration: Duration
}

/// What a deregistration did in the home.
struct DeregistrationWritten: Sendable {
    /// The home does not exist (as the user sees it): nothing was pushed or removed.
    var homeGone = false
    /// Each package's push, in order, with its time; the first failure ends the list.
    var pushes: [(packageFamilyName: String, result: Result<AppDataStore.Push?, AppDataError>, duration: Duration)] = []
    /// Why it stopped, if it did: a push or the removal of the files failed.
    var failure: RegistrationError?
    /// Set when the failure was a home that did not answer.
    var unresponsive: (HomePhase, HomeUnresponsive)?
    var duration: Duration = .zero
}
