import LinuxSystem

/// Registers packages for a user at sign-in: converges the user's home to the plans, as the
/// user (through `UserFiles`), in one job for all of the user's packages, so that
/// `mimeapps.list` is read and written once however many packages there are.
///
/// Converging makes it idempotent: running it again changes nothing, and a plan that lost
/// an app or an alias since the last sign-in removes the stale file. It does not run
/// `update-desktop-database`: that cache only speeds up MIME lookups over large system
/// directories, desktops read `~/.local/share/applications` directly and notice changes by
/// inotify, and running it would cost more than the registration itself (see `PackageIntegration`).
public struct Register: Sendable {
    /// Where the file work runs.
    public let files: UserFiles
    /// Restores a user's saved app data for a regular registration, after the files are in
    /// place; owned by another module. Its error fails the registration.
    public var restoreAppData: (@Sendable (UserAccount, RegistrationPlan) throws -> Void)?

    public init(files: UserFiles, restoreAppData: (@Sendable (UserAccount, RegistrationPlan) throws -> Void)? = nil) {
        self.files = files
        self.restoreAppData = restoreAppData
    }

    /// Converges `user`'s home to `plans` and returns what changed.
    @discardableResult
    public func run(_ plans: [RegistrationPlan], for user: UserAccount) throws(RegistrationError) -> RegistrationChanges {
        let (claims, files, associations) = try Self.desiredState(plans, for: user)
        let changes: RegistrationChanges
        do {
            changes = try self.files.perform(as: user, Self.convergeJob(claims, files, associations))
        } catch {
            throw RegistrationError(.register, package: Self.names(plans), user: user.name, "\(error)", cause: error)
        }
        try restoreData(plans, for: user)
        return changes
    }

    /// `run`, for async callers.
    @discardableResult
    public func run(_ plans: [RegistrationPlan], for user: UserAccount) async throws(RegistrationError) -> RegistrationChanges {
        let (claims, files, associations) = try Self.desiredState(plans, for: user)
        let changes: RegistrationChanges
        do {
            changes = try await self.files.perform(as: user, Self.convergeJob(claims, files, associations))
        } catch {
            throw RegistrationError(.register, package: Self.names(plans), user: user.name, "\(error)", cause: error)
        }
        try restoreData(plans, for: user)
        return changes
    }

    /// The job run as the user: bring their files to the desired state.
    private static func convergeJob(_ claims: [Claim], _ files: [PlannedFile], _ associations: [MimeAssociation])
        -> @Sendable (UserHome) throws -> RegistrationChanges {
        { home in
            var convergence = HomeConvergence(home: home, claims: claims)
            try convergence.converge(files: files, associations: associations)
            return convergence.changes
        }
    }

    private func restoreData(_ plans: [RegistrationPlan], for user: UserAccount) throws(RegistrationError) {
        guard let restoreAppData else { return }
        for plan in plans where plan.restoresAppData {
            do { try restoreAppData(user, plan) } catch {
                throw RegistrationError(.register, package: plan.packageFamilyName, user: user.name, "cannot restore app data: \(error)", cause: error)
            }
        }
    }

    /// The claims, files and associations of all plans; a later plan of the same family
    /// replaces an earlier one.
    static func desiredState(_ plans: [RegistrationPlan], for user: UserAccount)
        throws(RegistrationError) -> ([Claim], [PlannedFile], [MimeAssociation]) {
        var byFamily: [String: RegistrationPlan] = [:]
        var order: [String] = []
        for plan in plans {
            guard plan.home == user.home else {
                throw RegistrationError(.register, package: plan.packageFamilyName, user: user.name,
                                        "the plan was made for home '\(plan.home)', not '\(user.home)'")
            }
            if byFamily[plan.packageFamilyName] == nil { order.append(plan.packageFamilyName) }
            byFamily[plan.packageFamilyName] = plan
        }
        let chosen = order.compactMap { byFamily[$0] }
        return (chosen.map { Claim.family($0.packageFamilyName, $0.managedAreas) },
                chosen.flatMap(\.files), chosen.flatMap(\.associations))
    }

    static func names(_ plans: [RegistrationPlan]) -> String {
        plans.map(\.packageFamilyName).joined(separator: ", ")
    }
}
