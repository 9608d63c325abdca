import ArgumentParser
import Glibc
import LinuxSystem

extension ParsableCommand {
    /// Parses the command line, runs the command on this thread, and ends the process on an
    /// error (see `exit(reporting:)`). For programs whose commands are all synchronous: nothing
    /// of Swift concurrency or Dispatch starts, and the main thread returns normally. (An
    /// asynchronous main parks the main thread in `dispatch_main`, which ends it with
    /// `pthread_exit`; unwinding its stack makes the unwinder sort every frame description of a
    /// static executable first, 30–50 ms here.)
    public static func runReportingErrors() {
        do {
            var command = try parseAsRoot()
            try command.run()
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
