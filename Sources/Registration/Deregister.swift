import LinuxSystem

/// Deregisters packages for a user at sign-out: removes every registration file of the
/// packages from the home, as the user, in all areas whatever the mode was: desktop entries,
/// autostart entries, aliases that carry our marker, and our items in `mimeapps.list`.
/// The user's own files, lines and aliases stay. Idempotent.
public struct Deregister: Sendable {
    /// Which registrations to remove.
    public enum Target: Sendable, Equatable {
        /// These PackageFamilyNames.
        case packages([String])
        /// Every `appattach-` file: for reconciling a home after a crash, when nobody knows
        /// which packages were registered.
        case everyPackage
    }

    /// Where the file work runs.
    public let files: UserFiles
    /// Saves the user's app data of a package into the profile before its files go; owned by
    /// another module. If it fails, nothing is removed, so that a retry finds things as they were.
    public var saveAppData: (@Sendable (UserAccount, String) throws -> Void)?

    public init(files: UserFiles, saveAppData: (@Sendable (UserAccount, String) throws -> Void)? = nil) {
        self.files = files
        self.saveAppData = saveAppData
    }

    /// Removes the registrations of `target` from `user`'s home and returns what changed.
    @discardableResult
    public func run(_ target: Target, for user: UserAccount) throws(RegistrationError) -> RegistrationChanges {
        let claims = try prepare(target, for: user)
        do {
            return try files.perform(as: user) { home in try Self.remove(claims, in: home) }
        } catch {
            throw RegistrationError(.deregister, package: Self.name(target), user: user.name, "\(error)", cause: error)
        }
    }

    /// `run`, for async callers.
    @discardableResult
    public func run(_ target: Target, for user: UserAccount) async throws(RegistrationError) -> RegistrationChanges {
        let claims = try prepare(target, for: user)
        do {
            return try await files.perform(as: user) { home in try Self.remove(claims, in: home) }
        } catch {
            throw RegistrationError(.deregister, package: Self.name(target), user: user.name, "\(error)", cause: error)
        }
    }

    private func prepare(_ target: Target, for user: UserAccount) throws(RegistrationError) -> [Claim] {
        switch target {
        case .everyPackage:
            return [Claim.everyPackage()]
        case .packages(let families):
            if let saveAppData {
                for family in families {
                    do { try saveAppData(user, family) } catch {
                        throw RegistrationError(.deregister, package: family, user: user.name, "cannot save app data: \(error)", cause: error)
                    }
                }
            }
            return families.map { Claim.family($0, Set(RegistrationArea.allCases)) }
        }
    }

    private static func remove(_ claims: [Claim], in home: UserHome) throws -> RegistrationChanges {
        var convergence = HomeConvergence(home: home, claims: claims)
        try convergence.converge(files: [], associations: [])
        return convergence.changes
    }

    static func name(_ target: Target) -> String {
        switch target {
        case .packages(let families): families.joined(separator: ", ")
        case .everyPackage: "every package"
        }
    }
}
