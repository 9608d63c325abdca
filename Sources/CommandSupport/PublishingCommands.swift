/// The commands that prepare and publish packages: `pack`, `verify`, `inspect`, `expand`,
/// `upload`, `hostpool`, `gc`. They live in `appattach-tools` (with MSIX, XML, TOML and image
/// writing), which `appattachctl` hands their command lines to, so that the commands a session
/// host runs at every sign-in, launch and stage start without loading any of that.
public enum PublishingCommands {
    /// The program that runs them, installed beside `appattachctl`.
    public static let program = "appattach-tools"
    /// The environment variable that names it elsewhere (tests).
    public static let environmentVariable = "APPATTACH_TOOLS"

    /// Each command's name and one-line summary, in the order `--help` lists them.
    public static let all: [(name: String, abstract: String)] = [
        ("inspect", "Show what an MSIX package or an image holds."),
        ("verify", "Check MSIX packages against their block maps."),
        ("pack", "Package a directory holding a Linux app as an MSIX."),
        ("expand", "Expand MSIX packages into an image for the MSIX share."),
        ("upload", "Copy an image onto the MSIX share and record it in the share's catalog."),
        ("hostpool", "Check and change host-pool files, and see the hosts of a pool."),
        ("gc", "List the images on the share that no host pool names and no host has staged; remove them with --delete."),
    ]

    /// The summary of command `name`.
    public static func abstract(_ name: String) -> String {
        all.first { $0.name == name }?.abstract ?? ""
    }

    /// Whether `word` names one of them.
    public static func contains(_ word: String) -> Bool {
        all.contains { $0.name == word }
    }
}
