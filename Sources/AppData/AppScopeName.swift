/// The names of the transient systemd user scopes apps run in, after the freedesktop
/// convention `app-<launcher>-<ApplicationID>-<RANDOM>.scope`: here
/// `app-appattach-<escaped PackageFamilyName!AppId>-<random>.scope`. The application id is
/// the MSIX app user model id, so that the scopes of one package share a prefix and the agent
/// can tell, from the user's cgroup tree alone, whether a package is in use.
public enum AppScopeName {
    /// The scope name for a new instance of `appId` of `packageFamilyName`; `random` is eight
    /// hexadecimal digits or so.
    public static func make(packageFamilyName: String, appId: String, random: String) -> String {
        "\(prefix(packageFamilyName: packageFamilyName))\(escape(appId))-\(random).scope"
    }

    /// What every scope of the package's apps starts with.
    public static func prefix(packageFamilyName: String) -> String {
        "app-appattach-\(escape(packageFamilyName))\\x21"
    }

    /// The directory in the unified cgroup tree under which `uid`'s user manager puts apps.
    public static func appSliceDirectory(uid: UInt32, cgroupRoot: String = "/sys/fs/cgroup") -> String {
        "\(cgroupRoot)/user.slice/user-\(uid).slice/user@\(uid).service/app.slice"
    }

    /// systemd's unit name escaping (`systemd-escape`): ASCII letters, digits, `:`, `_` and
    /// `.` (not leading) stay; every other byte becomes `\xNN`.
    public static func escape(_ text: String) -> String {
        var out = ""
        for (index, byte) in text.utf8.enumerated() {
            let keep = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "_") || (byte == UInt8(ascii: ".") && index > 0)
            if keep {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16)
                out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}
