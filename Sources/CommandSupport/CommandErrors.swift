import ArgumentParser
import Glibc
import LinuxSystem

extension AsyncParsableCommand {
    /// Parses the command line, runs the command, and ends the process on an error (see `exit(reporting:)`).
    public static func runReportingErrors() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(reporting: error)
        }
    }

    /// Prints `error` and exits non-zero: appattach's own errors as one line,
    /// `appattachctl: <cause>`; the parser's (usage, `--help`) as the parser says them.
    public static func exit(reporting error: any Error) -> Never {
        if let error = error as? AppAttachError {
            StandardStreams.writeError("appattachctl: \(error.description)\n")
            Glibc.exit(1)
        }
        exit(withError: error)
    }
}
