import ArgumentParser
import Foundation
import LinuxSystem

/// `appattachctl`: the admin and user command line of appattach.
@main
struct AppAttachCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "appattachctl",
        abstract: "Package, expand, inspect and attach MSIX apps on Linux session hosts.",
        subcommands: [
            InspectCommand.self,
            VerifyCommand.self,
            PackCommand.self,
            ExpandCommand.self,
            StageCommand.self,
            DestageCommand.self,
            StatusCommand.self,
            UploadCommand.self,
            HostPoolCommand.self,
            RegisterCommand.self,
            DeregisterCommand.self,
            LaunchAppCommand.self,
            HistoryCommand.self,
            PamHookCommand.self,
        ]
    )

    /// Parses the command line, runs the command, and turns errors into one line on stderr.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as LaunchError {
            FileHandle.standardError.write(Data("appattachctl: \(error.description)\n".utf8))
            Foundation.exit(1)
        } catch let error as AppAttachError {
            FileHandle.standardError.write(Data("appattachctl: \(error.description)\n".utf8))
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }
}

/// Flags shared by read commands.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON instead of text.")
    var json = false
}
