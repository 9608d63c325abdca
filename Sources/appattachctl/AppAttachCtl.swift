import ArgumentParser
import CommandSupport
import Dispatch
import Glibc
import LinuxSystem

/// The process entry point: `stage IMAGE` and `destage TARGET` run synchronously, straight from
/// `argv`, before anything else is set up; the publishing commands (`PublishingCommands`) are
/// handed to `appattach-tools`; every other command line goes to the parser, in an
/// asynchronous task on the main actor (what an `async` main would do).
///
/// An `async` main starts the main task through the concurrency runtime and Dispatch before
/// the first line of the command runs; `CommandLine.arguments` builds its array through generic
/// code the runtime instantiates at first use. Each is a measurable part of a command that
/// util-linux's `mount` finishes in under 2 ms, so the direct path avoids both.
@main
enum AppAttachCtlEntry {
    static func main() {
        do {
            if try AppAttachCtl.runDirectly(argc: CommandLine.argc, argv: CommandLine.unsafeArgv) { exit(0) }
        } catch {
            AppAttachCtl.fail(error)
        }
        PublishingTools.handOver(argc: CommandLine.argc, argv: CommandLine.unsafeArgv)
        runParsed()
    }

    /// Every other command line. Kept out of line: inlined, the compiler hoists the task's
    /// type metadata lookups above the direct path, which then pays for them too.
    @inline(never)
    static func runParsed() -> Never {
        Task { @MainActor in
            await AppAttachCtl.main()
            exit(0)
        }
        dispatchMain()
    }
}

/// `appattachctl`: the admin and user command line of appattach.
struct AppAttachCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "appattachctl",
        abstract: "Package, expand, inspect and attach MSIX apps on Linux session hosts.",
        subcommands: [
            Published<Inspect>.self,
            Published<Verify>.self,
            Published<Pack>.self,
            Published<Expand>.self,
            StageCommand.self,
            DestageCommand.self,
            StatusCommand.self,
            Published<Upload>.self,
            Published<HostPool>.self,
            RegisterCommand.self,
            DeregisterCommand.self,
            LaunchAppCommand.self,
            HistoryCommand.self,
            PamHookCommand.self,
        ]
    )

    /// Parses the command line, runs the command, and turns errors into one line on stderr.
    static func main() async { await runReportingErrors() }

    /// Prints `error` as one line (or as the parser's usage message) and exits non-zero.
    static func fail(_ error: any Error) -> Never { exit(reporting: error) }
}

extension AppAttachCtl {
    /// Runs `stage IMAGE` and `destage TARGET` without building the whole command tree.
    ///
    /// Scripts and session hooks run these two in loops, where they compete with util-linux's
    /// `mount`/`umount`; swift-argument-parser spends about 2 ms of a 3 ms start-up on building
    /// every command's definition (for help and completion scripts). Only the plain two-word form
    /// is taken here; anything else, `--help` and `--json` included, goes through the parser.
    /// Returns false when the arguments are not that form.
    static func runDirectly(argc: Int32, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) throws -> Bool {
        guard argc == 3, let verb = argv[1], let operand = argv[2] else { return false }
        return try runDirectly(verb: String(cString: verb), operand: String(cString: operand))
    }

    /// `runDirectly` for the two words after the program name.
    static func runDirectly(verb: String, operand: String) throws -> Bool {
        guard !operand.isEmpty, !operand.hasPrefix("-") else { return false }
        switch verb {
        case "stage": try StageCommand.stage(operand, json: false)
        case "destage": try DestageCommand.destage(operand)
        default: return false
        }
        return true
    }
}
