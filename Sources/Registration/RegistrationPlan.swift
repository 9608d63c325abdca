import MSIX

/// Everything one package's registration wants in one user's home, computed without touching
/// the disk: the desired state that `Register` converges the home to, in the manner of
/// snapd's `EnsureDirStateGlobs`.
public struct RegistrationPlan: Sendable, Equatable {
    public var packageFamilyName: String
    public var packageFullName: String
    public var mode: RegistrationMode
    /// The home the plan was made for.
    public var home: String
    /// Files to have, each with the area it belongs to.
    public var files: [PlannedFile]
    /// Lines to have in `~/.config/mimeapps.list`.
    public var associations: [MimeAssociation]
    /// What the plan left out and why, such as an alias whose name cannot be a file name.
    public var notes: [String]

    /// The areas this plan converges: files of the package in other areas are left alone.
    public var managedAreas: Set<RegistrationArea> { RegistrationArea.managed(by: mode) }

    /// Whether `Register` calls the app-data restore hook for this package.
    public var restoresAppData: Bool { mode == .regular }

    /// The plan for `manifest`'s package, whose shared files `integration` describes.
    public init(manifest: AppxManifest, integration: PreparedIntegration, mode: RegistrationMode, home: String,
                launcher: LaunchCommand = LaunchCommand()) {
        let builder = PlanBuilder(manifest: manifest, integration: integration, mode: mode, launcher: launcher)
        packageFamilyName = manifest.identity.familyName
        packageFullName = manifest.identity.fullName
        self.mode = mode
        self.home = home
        (files, associations, notes) = builder.build()
    }
}
