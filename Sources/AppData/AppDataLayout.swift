import Glibc
import LinuxSystem

/// Where one user's app data for one package lives, live and saved.
///
/// - live, the layer: `/var/lib/appattach/users/<uid>/<PackageFamilyName>/`, made by the agent,
///   owned by the user, mode 0700; inside it one directory per area (`config`, `data`,
///   `state`, `cache`), each holding the overlay's `upper` (the app's writes) and `work`
///   (the overlay's scratch space, on the same file system as `upper`).
/// - saved, the profile copy: `~/.local/share/appattach/<PackageFamilyName>/`, holding
///   `config`, `data` and `state`: the `upper` trees as they were at the last push, in portable
///   form (see `TreeCopy`), and `.appattach-generation`, the copy's random generation.
///
/// Beside them, names that are never a layer or a profile copy:
/// - `.<PackageFamilyName>.new`: a layer or a copy being made (a leftover is garbage);
/// - `.<PackageFamilyName>.old`: the previous profile copy while a home that cannot exchange
///   two names (NFS, SMB) gets the new one: put back if the new one did not take its name;
/// - `.<PackageFamilyName>.retired-<random>`: a layer being removed, renamed first so that
///   no half-removed layer ever has the family's name;
/// - `<PackageFamilyName>.kept-<UTC time>` in the profile: a layer's data that could not
///   replace the profile copy (it changed since the layer was made from it); kept for the
///   user, never read by appattach.
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

    /// What the names of kept copies have between the family and the time.
    public static let keptInfix = ".kept-"
    /// A layer or profile copy being made, beside the final name.
    public var temporaryName: String { ".\(packageFamilyName).new" }
    /// The previous profile copy while a home without `RENAME_EXCHANGE` gets the new one.
    public var previousName: String { ".\(packageFamilyName).old" }
    /// What the names of layers being removed start with.
    public var retiredPrefix: String { ".\(packageFamilyName).retired-" }
    /// The name of a kept copy made at `time` (seconds since the epoch, UTC), such as
    /// `Contoso.Notes_8wekyb3d8bbwe.kept-20250131T235959Z` (no colon: FAT and SMB refuse it).
    public func keptName(at time: Int) -> String {
        var seconds = time_t(time)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let date = "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))"
        return "\(packageFamilyName)\(Self.keptInfix)\(date)T\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
    }

    static func isSafeComponent(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && name.utf8.count <= 255
            && name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "/") }
    }
}

/// Why app data could not be laid out, restored or pushed.
public struct AppDataError: Error, CustomStringConvertible, Sendable, HomeUnresponsiveCarrier {
    /// The message, one line.
    public let description: String
    /// Set when the cause was a home that did not answer within the job's deadline.
    public let unresponsive: HomeUnresponsive?
    /// An error with `description`; `cause` is kept when it is a `HomeUnresponsive`.
    public init(_ description: String, cause: (any Error)? = nil) {
        self.description = description
        unresponsive = cause.flatMap(HomeUnresponsive.found(in:))
    }
}
