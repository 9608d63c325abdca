import ArgumentParser
import CommandSupport
import Glibc
import ProductVersion

/// `appattach-tools`: the commands that prepare and publish packages (see
/// `PublishingCommands`). Admins run them as `appattachctl <command>`, which hands the command
/// line over; the usage text says `appattachctl` for that reason.
@main
struct AppAttachTools: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "appattachctl",
        abstract: "Package, expand, inspect and publish MSIX apps for Linux session hosts.",
        version: ProductVersion.current,
        subcommands: [
            InspectCommand.self,
            VerifyCommand.self,
            PackCommand.self,
            ExpandCommand.self,
            UploadCommand.self,
            HostPoolCommand.self,
            GcCommand.self,
        ]
    )

    /// Parses the command line, runs the command, and turns errors into one line on stderr.
    /// Synchronous on purpose, like `appattachctl` (see `ParsableCommand.runReportingErrors`).
    static func main() {
        runReportingErrors()
        Glibc.exit(0)
    }
}
