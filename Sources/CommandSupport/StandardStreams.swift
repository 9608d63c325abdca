import Glibc

/// Text to standard output and standard error with plain `write(2)` calls.
///
/// `print` hands its arguments to the standard library as `Any` and asks at run time which
/// printing protocols they conform to; the first such question in a process makes the runtime
/// scan every conformance record of this (large, static) executable. `stage` and `destage`
/// run in loops from scripts and session hooks, so their output goes out this way instead.
/// Do not mix with `print` in one command: `print` buffers, these do not.
public enum StandardStreams {
    /// Writes `text` to standard output.
    public static func write(_ text: String) { write(text, to: STDOUT_FILENO) }

    /// Writes `text` to standard error.
    public static func writeError(_ text: String) { write(text, to: STDERR_FILENO) }

    private static func write(_ text: String, to fd: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var done = 0
            while done < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
                if n > 0 {
                    done += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return  // a closed pipe or a full disk: nothing better to do with command output
                }
            }
        }
    }
}
