import LinuxSystem

/// Where `appattachctl launch` finds the launcher, `appattach-launch`: the dynamically linked
/// program that makes the systemd scope and the namespace (the static `appattachctl` cannot
/// link libsystemd).
///
/// In order: `$APPATTACH_LAUNCHER`; beside the running `appattachctl` (`/usr/bin/appattach-launch`
/// when it is `/usr/bin/appattachctl`); `../libexec/appattach/appattach-launch` from there.
public enum LauncherLocation {
    /// The launcher's file name.
    public static let name = "appattach-launch"
    /// The environment variable that overrides the search.
    public static let environmentVariable = "APPATTACH_LAUNCHER"

    /// The places searched for a program at `executablePath`, in order.
    public static func candidates(executablePath: String, override: String?) -> [String] {
        program.candidates(executablePath: executablePath, override: override)
    }

    /// The launcher for this process: the first candidate that is an executable file.
    public static func find() throws(ContainerError) -> String {
        switch program.find() {
        case .success(let path): return path
        case .failure(let searched):
            throw ContainerError("\(name) not found (looked at \(searched.places.joined(separator: ", "))); install it beside appattachctl")
        }
    }

    private static let program = CompanionProgram(name: name, environmentVariable: environmentVariable)
}
