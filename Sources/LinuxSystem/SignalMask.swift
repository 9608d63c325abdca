import Glibc

/// The calling thread's set of blocked signals.
public enum SignalMask {
    /// Unblocks every signal for the calling thread. A program that is about to become another
    /// (an app, exec'd) calls it first: a blocked mask survives `execve`, and a program started
    /// with SIGTERM or SIGHUP blocked cannot be asked to stop. (Dispatch's worker threads block
    /// nearly every signal, so an exec from one of them passes that on.)
    public static func unblockAll() {
        var none = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, nil)
    }
}
