/// Where registration files live in a home (paths relative to it) and how they are named.
///
/// Every name starts with `appattach-<PackageFamilyName>-`, so one package's files are found
/// by a prefix and all of appattach's by `appattach-`. A PackageFamilyName is `Name_PublisherId`
/// where the name has no `_` and the publisher id no `-`, so one family's prefix never matches
/// another family's files. The XDG defaults are used rather than `$XDG_DATA_HOME` and
/// `$XDG_CONFIG_HOME`: the agent does not see the session's environment, and the desktop
/// reads the defaults too unless a user moved them on purpose.
public enum RegistrationLayout {
    /// Desktop entries: menus and "Open with".
    public static let applications = ".local/share/applications"
    /// XDG autostart entries.
    public static let autostart = ".config/autostart"
    /// Execution aliases; on the default PATH of Debian's and Fedora's login shells.
    public static let executables = ".local/bin"
    /// Default and added applications per MIME type.
    public static let mimeApps = ".config/mimeapps.list"

    /// The longest file of the user's own that registration rewrites (`mimeapps.list`): read
    /// whole, merged and written back. One that is longer is refused with the reason and left
    /// as it is, never taken for empty. Real ones are kilobytes. The bound keeps a user's file
    /// from holding up the agent: merging 8 MiB takes about 2 s in a debug build, 64 MiB took
    /// 18 s and a gigabyte of memory, longer than the loop may take for one command.
    public static let largestRewrittenFile = 8 << 20

    /// The prefix of every file appattach writes into a home.
    public static let prefix = "appattach-"

    /// The prefix of one package family's files.
    public static func prefix(_ familyName: String) -> String { "\(prefix)\(familyName)-" }

    /// The desktop file ID of an application (the file's name in `applications`).
    public static func desktopID(_ familyName: String, _ appID: String) -> String {
        "\(prefix(familyName))\(fileNamePart(appID)).desktop"
    }

    /// The first line after `#!` of an execution alias script: what marks it as ours.
    public static func aliasMarker(_ familyName: String, _ appID: String) -> String {
        "\(aliasMarkerPrefix)\(familyName)!\(appID)"
    }

    /// What every alias marker starts with; with a family name and `!` it names one package.
    public static let aliasMarkerPrefix = "# appattach-alias "

    /// A name from a manifest made safe as part of a file name: letters, digits, `.`, `-`
    /// and `_` are kept, everything else becomes `_`.
    public static func fileNamePart(_ name: String) -> String {
        String(name.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "._-".unicodeScalars.contains(scalar))
                ? Character(scalar) : "_"
        })
    }
}
