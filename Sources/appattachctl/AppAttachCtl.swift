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
            if try runDirectly(Array(CommandLine.arguments.dropFirst())) { return }
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

extension AppAttachCtl {
    /// Runs `stage IMAGE` and `destage TARGET` without building the whole command tree.
    ///
    /// Scripts and session hooks run these two in loops, where they compete with util-linux's
    /// `mount`/`umount`; swift-argument-parser spends about 2 ms of a 3 ms start-up on building
    /// every command's definition (for help and completion scripts). Only the plain two-word form
    /// is taken here; anything else, `--help` and `--json` included, goes through the parser.
    /// Returns false when the arguments are not that form.
    static func runDirectly(_ arguments: [String]) throws -> Bool {
        guard arguments.count == 2, !arguments[1].hasPrefix("-"), !arguments[1].isEmpty else { return false }
        switch arguments[0] {
        case "stage": try StageCommand.stage(arguments[1], json: false)
        case "destage": try DestageCommand.destage(arguments[1])
        default: return false
        }
        return true
    }
}

/// Flags shared by read commands.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON instead of text.")
    var json = false
}
