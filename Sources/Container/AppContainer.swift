import AppData
import Glibc
import LinuxSystem

/// The MSIX container of one app, made by the launcher as the user, in the launcher's own
/// process, just before it replaces itself with the app.
///
/// `prepare()` checks the layer and completes it; `enter(mode:)` makes the user and mount
/// namespace with the overlays, or, where the host refuses that, says why and returns the
/// environment that points the app's XDG directories into the layer instead.
public struct AppContainer: Sendable {
    /// How the app's writes are redirected into its layer.
    public enum Mode: String, Sendable {
        /// A user and mount namespace with overlays over the real directories (the default).
        case namespace
        /// Only `XDG_*_HOME` pointing into the layer (forced with `APPATTACH_CONTAINER=xdg`).
        case xdg
    }

    /// What `enter(mode:)` made.
    public enum Outcome: Sendable, Equatable {
        /// The namespace with every overlay.
        case namespace
        /// The environment fallback; `reason` says why (one line).
        case xdg(reason: String)
    }

    /// The environment variable that forces the fallback: `APPATTACH_CONTAINER=xdg`.
    public static let modeVariable = "APPATTACH_CONTAINER"

    /// The plan.
    public let plan: ContainerPlan

    /// A container for `plan`.
    public init(plan: ContainerPlan) { self.plan = plan }

    /// Checks that the layer exists, is a directory and is the user's own (the agent makes it
    /// at registration), and makes whatever area directories (`<area>/upper`, `<area>/work`)
    /// are missing in it, and the user's real area directories that do not exist yet.
    public func prepare() throws(ContainerError) {
        let layer = plan.layout.layerDirectory
        var st = stat()
        guard lstat(layer, &st) == 0 else {
            throw ContainerError("\(layer): no app data layer for \(plan.layout.packageFamilyName) "
                + "(\(String(cString: strerror(errno)))); the agent makes it when it registers the package")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw ContainerError("\(layer): the app data layer is not a directory") }
        guard st.st_uid == getuid() else { throw ContainerError("\(layer): the app data layer belongs to uid \(st.st_uid), not to you") }
        for area in AppDataArea.allCases {
            for relative in [plan.layout.areaDirectory(area), plan.layout.upper(area), plan.layout.work(area)] {
                try Self.makeDirectory(layer + "/" + relative)
            }
        }
        for overlay in plan.overlays { try Self.makeDirectories(overlay.target) }
    }

    /// Makes the container for this process. With `.namespace`, any failure (the namespace
    /// refused, a mount refused) undoes the mounts made and falls back, naming the reason.
    public func enter(mode: Mode) -> Outcome {
        guard mode == .namespace else { return .xdg(reason: "\(Self.modeVariable)=xdg") }
        do {
            try UserNamespace.enter()
        } catch {
            return .xdg(reason: error.description)
        }
        var mounted: [String] = []
        do {
            for overlay in plan.overlays {
                try UserNamespace.mountOverlay(target: overlay.target, options: try overlay.options.mountData())
                mounted.append(overlay.target)
            }
            for path in plan.hidden where Self.isDirectory(path) {
                try UserNamespace.hide(path)
                mounted.append(path)
            }
            return .namespace
        } catch {
            for target in mounted.reversed() { try? UserNamespace.unmount(target) }
            return .xdg(reason: "\(error)")
        }
    }

    /// Sets the fallback's `XDG_*_HOME` variables in this process's environment.
    public func applyFallbackEnvironment() {
        for (name, value) in plan.fallbackEnvironment { setenv(name, value, 1) }
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// `mkdir` mode 0700; an existing directory is fine, anything else existing is an error.
    static func makeDirectory(_ path: String) throws(ContainerError) {
        if mkdir(path, 0o700) == 0 { return }
        let error = errno
        if error == EEXIST, isDirectory(path) { return }
        throw ContainerError("\(path): cannot make the directory: \(String(cString: strerror(error == EEXIST ? ENOTDIR : error)))")
    }

    /// `mkdir -p`, mode 0700 for what is made.
    static func makeDirectories(_ path: String) throws(ContainerError) {
        if isDirectory(path) { return }
        var prefix = ""
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if !isDirectory(prefix) { try makeDirectory(prefix) }
        }
    }
}
