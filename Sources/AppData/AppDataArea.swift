/// One of the well-known per-user places an app writes to, which the MSIX container captures
/// per package: inside the container `~/.config`, `~/.local/share`, `~/.local/state` and
/// `~/.cache` are overlays whose writes land in the package's layer.
public enum AppDataArea: String, CaseIterable, Sendable, Hashable {
    case config
    case data
    case state
    case cache

    /// Where the area is in a home, relative to it.
    public var homeRelativePath: String {
        switch self {
        case .config: ".config"
        case .data: ".local/share"
        case .state: ".local/state"
        case .cache: ".cache"
        }
    }

    /// The XDG Base Directory variable that names the area; the fallback when a namespace
    /// cannot be made points it into the layer.
    public var environmentVariable: String {
        switch self {
        case .config: "XDG_CONFIG_HOME"
        case .data: "XDG_DATA_HOME"
        case .state: "XDG_STATE_HOME"
        case .cache: "XDG_CACHE_HOME"
        }
    }

    /// Whether deregistration pushes the area into the profile. A cache is never pushed.
    public var isPushed: Bool { self != .cache }

    /// The areas that are pushed to and restored from the profile.
    public static var pushed: [AppDataArea] { allCases.filter(\.isPushed) }
}
