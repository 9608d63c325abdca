import Glibc

/// Named points where a test can stop a running command to kill it there (crash tests), or
/// make a system call fail as a kernel this machine does not run would.
///
/// With `APPATTACH_PAUSE_AT=<point>` in the environment, reaching that point prints
/// `paused at <point>` on standard error and waits for a signal; with
/// `APPATTACH_REFUSE_AT=<point>`, `refuses(<point>)` is true. Nothing happens otherwise.
public enum FaultInjection {
    /// True when the environment asks the call at `name` to fail.
    public static func refuses(_ name: String) -> Bool {
        guard let wanted = getenv("APPATTACH_REFUSE_AT") else { return false }
        return String(cString: wanted) == name
    }

    /// Pauses here if the environment asks for it.
    public static func pausePoint(_ name: String) {
        guard let wanted = getenv("APPATTACH_PAUSE_AT"), String(cString: wanted) == name else { return }
        let line = "paused at \(name)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
        while true { pause() }
    }
}
