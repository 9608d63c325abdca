import Health

/// What a host pool gets, from the share's `hostpools/<pool>.toml`: the packages added to the
/// pool (image, registration mode, state, health policy) and the users and groups each is
/// published to. A sample with every key explained is `config/hostpool-example.toml`.
public struct HostPoolDefinition: Sendable, Equatable {
    /// Every `[[package]]` entry, in file order.
    public var packages: [PackageEntry]

    public init(packages: [PackageEntry]) { self.packages = packages }

    /// The entries a host acts on; inactive ones are ignored at sign-in, as in AVD.
    public var activePackages: [PackageEntry] { packages.filter { $0.state == .active } }

    /// `<share>/hostpools/<pool>.toml`.
    public static func path(share: String, pool: String) -> String {
        (share.hasSuffix("/") ? share : share + "/") + relativePath(pool: pool)
    }

    /// `hostpools/<pool>.toml`, the name errors show (relative to the share, as the admin sees it).
    public static func relativePath(pool: String) -> String { "hostpools/\(pool).toml" }
}

/// One `[[package]]` of a host-pool file.
public struct PackageEntry: Sendable, Equatable {
    /// The image file holding the package, relative to the share (`images/vlc.vhdx`).
    public var image: String
    /// The package it provides.
    public var package: PackageReference
    public var registration: RegistrationMode
    public var state: PackageState
    public var health: HealthPolicy
    /// User names (or numeric uids) it is published to, resolved through NSS.
    public var users: [String]
    /// Group names (or numeric gids) it is published to; members get it through any of their groups.
    public var groups: [String]
    /// The line of its `[[package]]` header, for messages about the entry.
    public var line: Int?

    public init(image: String, package: PackageReference, registration: RegistrationMode = .delayed,
                state: PackageState = .active, health: HealthPolicy = .needsAssistance,
                users: [String] = [], groups: [String] = [], line: Int? = nil) {
        self.image = image
        self.package = package
        self.registration = registration
        self.state = state
        self.health = health
        self.users = users
        self.groups = groups
        self.line = line
    }
}

/// When a user's registration is done (AVD's `IsRegularRegistration`).
public enum RegistrationMode: String, Sendable, Equatable, CaseIterable, Codable {
    /// At sign-in only the menu entry and file associations; the rest on first launch. The
    /// default, because it keeps sign-in fast.
    case delayed
    /// Everything at sign-in, which waits for it (bounded by the logon timeout).
    case regular
}

/// Whether hosts act on an entry. Inactive entries stay listed (to switch versions back
/// quickly) but are not registered for anyone at sign-in.
public enum PackageState: String, Sendable, Equatable, CaseIterable, Codable {
    case active, inactive
}

