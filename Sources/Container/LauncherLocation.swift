import Glibc

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
        if let override, !override.isEmpty { return [override] }
        let slash = executablePath.lastIndex(of: "/").map { executablePath[..<$0] } ?? "."
        let directory = slash.isEmpty ? "/" : String(slash)
        let parent = directory.lastIndex(of: "/").map { String(directory[..<$0]) } ?? ".."
        return [directory + "/" + name, parent + "/libexec/appattach/" + name]
    }

    /// The launcher for this process: the first candidate that is an executable file.
    public static func find() throws(ContainerError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let executable = length > 0 ? String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "/usr/bin/appattachctl"
        let override = getenv(environmentVariable).map { String(cString: $0) }
        let places = candidates(executablePath: executable, override: override)
        for place in places {
            var st = stat()
            if stat(place, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, access(place, X_OK) == 0 { return place }
        }
        throw ContainerError("\(name) not found (looked at \(places.joined(separator: ", "))); install it beside appattachctl")
    }
}
