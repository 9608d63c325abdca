/// Where one user's app data for one package lives, live and saved.
///
/// - live, the layer: `/var/lib/appattach/users/<uid>/<PackageFamilyName>/`, made by the agent,
///   owned by the user, mode 0700; inside it one directory per area (`config`, `data`,
///   `state`, `cache`), each holding the overlay's `upper` (the app's writes) and `work`
///   (the overlay's scratch space, on the same file system as `upper`).
/// - saved, the profile copy: `~/.local/share/appattach/<PackageFamilyName>/`, holding
///   `config`, `data` and `state`: the `upper` trees as they were at the last push.
public struct AppDataLayout: Sendable, Hashable {
    /// Where the agent keeps every user's layers.
    public static let defaultUsersDirectory = "/var/lib/appattach/users"
    /// The profile copy's directory, relative to the home, without the family.
    public static let profileParent = ".local/share/appattach"

    /// The directory of all users' layers.
    public let usersDirectory: String
    /// The user.
    public let uid: UInt32
    /// The package family.
    public let packageFamilyName: String

    /// The layout of `uid`'s data for `packageFamilyName`. The family must be one path
    /// component (MSIX family names are `[A-Za-z0-9.-]+_[a-z0-9]{13}`).
    public init(uid: UInt32, packageFamilyName: String, usersDirectory: String = Self.defaultUsersDirectory) throws(AppDataError) {
        guard Self.isSafeComponent(packageFamilyName) else {
            throw AppDataError("'\(packageFamilyName)' is not a package family name")
        }
        self.uid = uid
        self.packageFamilyName = packageFamilyName
        self.usersDirectory = usersDirectory
    }

    /// `users/<uid>`: the user's own directory, owned by the user, mode 0700.
    public var userDirectory: String { "\(usersDirectory)/\(uid)" }
    /// `users/<uid>/<PackageFamilyName>`: the layer.
    public var layerDirectory: String { "\(userDirectory)/\(packageFamilyName)" }
    /// The layer's directory for `area`, relative to the layer.
    public func areaDirectory(_ area: AppDataArea) -> String { area.rawValue }
    /// The overlay's upper directory for `area`, relative to the layer.
    public func upper(_ area: AppDataArea) -> String { "\(area.rawValue)/upper" }
    /// The overlay's work directory for `area`, relative to the layer.
    public func work(_ area: AppDataArea) -> String { "\(area.rawValue)/work" }
    /// The profile copy, relative to the home.
    public var profileRelativePath: String { "\(Self.profileParent)/\(packageFamilyName)" }
    /// The profile copy's directory for `area`, relative to the profile copy.
    public func profileArea(_ area: AppDataArea) -> String { area.rawValue }

    static func isSafeComponent(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && name.utf8.count <= 255
            && name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "/") }
    }
}

/// Why app data could not be laid out, restored or pushed.
public struct AppDataError: Error, CustomStringConvertible, Sendable {
    /// The message, one line.
    public let description: String
    /// An error with `description`.
    public init(_ description: String) { self.description = description }
}
