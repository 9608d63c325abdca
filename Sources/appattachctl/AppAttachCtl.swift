import ArgumentParser
import CommandSupport
import Glibc
import LinuxSystem
import ProductVersion

/// The process entry point: `stage IMAGE` and `destage TARGET` run synchronously, straight from
/// `argv`, before anything else is set up; the publishing commands (`PublishingCommands`) are
/// handed to `appattach-tools`; every other command line goes to the parser, and the command
/// runs on the main thread.
///
/// Every command here is synchronous, and the program has no `async` main on purpose: that
/// would start the concurrency runtime and Dispatch before the first line of the command, and
/// end the main thread with `pthread_exit`, whose unwinding of a static executable's stack
/// costs 30–50 ms (the PAM hook runs at every sign-in, `launch` at every app start).
/// `CommandLine.arguments` builds its array through generic code the runtime instantiates at
/// first use, so the direct path reads `argv` itself.
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

    /// Every other command line. Kept out of line: inlined, the compiler hoists the parser's
    /// type metadata lookups above the direct path, which then pays for them too.
    @inline(never)
    static func runParsed() -> Never {
        AppAttachCtl.runReportingErrors()
        exit(0)
    }
}

/// `appattachctl`: the admin and user command line of appattach.
struct AppAttachCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "appattachctl",
        abstract: "Package, expand, inspect and attach MSIX apps on Linux session hosts.",
        version: ProductVersion.current,
        subcommands: [
            Published<Inspect>.self,
            Published<Verify>.self,
            Published<Pack>.self,
            Published<Expand>.self,
            StageCommand.self,
            DestageCommand.self,
            StatusCommand.self,
            HealthCommand.self,
            RepairCommand.self,
            Published<Upload>.self,
            Published<HostPool>.self,
            Published<Gc>.self,
            RegisterCommand.self,
            DeregisterCommand.self,
            LaunchAppCommand.self,
            HistoryCommand.self,
            PamHookCommand.self,
        ]
    )

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
