/// How much of a package is registered when the user signs in.
public enum RegistrationMode: String, Codable, Sendable, Equatable, CaseIterable {
    /// The default: menu entries and double-click file associations only. The entry starts the
    /// app through `appattachctl launch`, which completes the registration on the first run,
    /// so that a sign-in with many packages writes a handful of small files per package.
    case delayed
    /// Everything: also URL scheme handlers, execution aliases, startup tasks, and the
    /// user's saved app data restored.
    case regular
}

/// The parts of a user's desktop that registration manages. Converging a package touches
/// only the areas its mode covers, so a delayed registration at sign-in does not take away
/// the aliases that an earlier completed registration made.
public enum RegistrationArea: String, Codable, Sendable, Equatable, CaseIterable {
    /// Desktop entries in `~/.local/share/applications`.
    case menu
    /// File type lines in `~/.config/mimeapps.list`.
    case fileAssociations
    /// `x-scheme-handler/*` lines in `~/.config/mimeapps.list`.
    case urlSchemes
    /// Launcher scripts in `~/.local/bin`.
    case executionAliases
    /// XDG autostart entries in `~/.config/autostart`.
    case startupTasks

    /// The areas each mode writes and converges.
    public static func managed(by mode: RegistrationMode) -> Set<RegistrationArea> {
        switch mode {
        case .delayed: [.menu, .fileAssociations]
        case .regular: Set(allCases)
        }
    }
}
