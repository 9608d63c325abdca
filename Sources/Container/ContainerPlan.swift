import AppData

/// What the container of one app consists of, worked out from the layer's layout, the home
/// and the caller's environment, before anything is touched (pure, so it is testable).
///
/// - one overlay per area (`~/.config`, `~/.local/share`, `~/.local/state`, `~/.cache`, or
///   where `XDG_*_HOME` points): the user's real directory below, the layer's `upper` above;
/// - the directories to hide with an empty file system: the user's directory of layers (so
///   a package never sees another package's layer) and the profile copies of every package;
/// - for hosts that refuse the namespace, the `XDG_*_HOME` variables pointing into the layer.
public struct ContainerPlan: Sendable, Equatable {
    /// One overlay: which area, where it is mounted, and its directories.
    public struct Overlay: Sendable, Equatable {
        /// The area.
        public var area: AppDataArea
        /// The mount point, the user's real directory (also the overlay's lower directory).
        public var target: String
        /// The overlay's directories.
        public var options: OverlayOptions
    }

    /// The layer's layout.
    public var layout: AppDataLayout
    /// The overlays, in mount order.
    public var overlays: [Overlay]
    /// Directories hidden after the overlays are mounted, in order.
    public var hidden: [String]

    /// The plan for `layout` in `home`; `environment` supplies `XDG_*_HOME` where set (an
    /// absolute path, as the XDG Base Directory spec asks; anything else is ignored).
    public init(layout: AppDataLayout, home: String, environment: [String: String]) throws(ContainerError) {
        guard home.hasPrefix("/"), home != "/" else { throw ContainerError("\(home): not a usable home directory") }
        let home = Self.trimmingSlashes(home)
        self.layout = layout
        var overlays: [Overlay] = []
        for area in AppDataArea.allCases {
            let target = Self.areaDirectory(area, home: home, environment: environment)
            // Two variables naming one directory get one overlay: the first area's.
            if overlays.contains(where: { $0.target == target }) { continue }
            let options = OverlayOptions(lower: target, upper: layout.layerDirectory + "/" + layout.upper(area),
                                         work: layout.layerDirectory + "/" + layout.work(area))
            _ = try options.mountData()
            overlays.append(Overlay(area: area, target: target, options: options))
        }
        self.overlays = overlays
        hidden = [layout.userDirectory, home + "/" + AppDataLayout.profileParent]
    }

    /// Where `area` is for the app: `$XDG_…_HOME` when it is an absolute path, else below `home`.
    public static func areaDirectory(_ area: AppDataArea, home: String, environment: [String: String]) -> String {
        if let value = environment[area.environmentVariable], value.hasPrefix("/"), value != "/" {
            return trimmingSlashes(value)
        }
        return home + "/" + area.homeRelativePath
    }

    /// The fallback: each area's variable pointing at its `upper` in the layer. Reads then see
    /// only what the app wrote before, not the user's real files.
    public var fallbackEnvironment: [(name: String, value: String)] {
        AppDataArea.allCases.map { ($0.environmentVariable, layout.layerDirectory + "/" + layout.upper($0)) }
    }

    private static func trimmingSlashes(_ path: String) -> String {
        var path = path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return path
    }
}
