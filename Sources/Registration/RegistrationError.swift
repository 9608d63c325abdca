import LinuxSystem

/// Why registering, deregistering or preparing a package failed: one line naming the
/// package, the user when there is one, and the cause, for example
/// `cannot register Contoso.App_8wekyb3d8bbwe for user 'alice': open (symbolic link, not followed) '~/.local/share/applications': Too many levels of symbolic links`.
public struct RegistrationError: AppAttachError, Equatable, Sendable, HomeUnresponsiveCarrier {
    /// What was being done.
    public enum Operation: String, Sendable, Equatable {
        case register, deregister, prepare
    }

    public let operation: Operation
    /// The PackageFamilyName(s) or PackageFullName concerned.
    public let package: String
    /// The login name, for per-user work.
    public let user: String?
    /// The cause, without the package and user.
    public let reason: String
    /// Set when the cause was a home that did not answer within the job's deadline.
    public let unresponsive: HomeUnresponsive?

    /// `cause`: the error behind `reason`, kept when it is a `HomeUnresponsive`.
    public init(_ operation: Operation, package: String, user: String? = nil, _ reason: String, cause: (any Error)? = nil) {
        self.operation = operation
        self.package = package
        self.user = user
        self.reason = reason
        unresponsive = cause.flatMap(HomeUnresponsive.found(in:))
    }

    public var description: String {
        "cannot \(operation.rawValue) \(package)" + (user.map { " for user '\($0)'" } ?? "") + ": " + reason
    }
}
