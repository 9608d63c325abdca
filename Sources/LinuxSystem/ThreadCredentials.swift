import CLinuxShims
import Glibc
import Synchronization

/// The calling thread's switch to a user's ids and back. Only `UserFiles` uses it, on its own
/// worker threads, which run nothing but its jobs while switched.
///
/// Why these ids: the thread sets only its *effective* uid and gid (and its groups) to the
/// user's. The kernel then uses the user's ids for every permission check and for NFS
/// (fsuid follows euid), and clears the thread's effective capabilities, so root's
/// `CAP_DAC_OVERRIDE` no longer applies. Real and saved uid stay 0, which
///  - lets the thread switch back (a saved uid of 0 permits `setresuid(-1, 0, -1)`), and
///  - keeps the user from signalling it: `kill`/`tgkill` need the sender's uid to match the
///    target's *real or saved* uid, so a user could otherwise `tgkill` the worker and with it
///    the whole agent. `ptrace` is refused for the same reason (all three ids must match).
struct ThreadCredentials {
    private let originalGID: gid_t
    private let originalGroups: [gid_t]
    /// False when the thread already had the wanted ids and nothing was switched.
    private let switched: Bool

    /// Switches the calling thread to `user`. On failure the thread is left as it was.
    ///
    /// Changing the euid makes the process non-dumpable (the kernel's guard against core dumps
    /// holding another user's data). Dumpability is the process's, and several threads switch
    /// at once, so `SwitchedThreads` brings it back when the last switched thread is root again.
    static func become(_ user: UserAccount) throws(SystemCallError) -> ThreadCredentials {
        let gid = getegid()
        var groups = [gid_t](repeating: 0, count: Int(max(getgroups(0, nil), 0)))
        if !groups.isEmpty { groups = Array(groups.prefix(Int(getgroups(Int32(groups.count), &groups)))) }
        // Already the user (a test running unprivileged as itself): nothing to switch.
        guard geteuid() != user.uid || gid != user.gid else {
            return ThreadCredentials(originalGID: gid, originalGroups: groups, switched: false)
        }
        let current = ThreadCredentials(originalGID: gid, originalGroups: groups, switched: true)
        SwitchedThreads.enter()
        do throws(SystemCallError) {
            // Groups and gid first: once the euid is the user's, the thread lacks CAP_SETGID.
            if user.groups.withUnsafeBufferPointer({ appattach_thread_setgroups($0.count, $0.baseAddress) }) != 0 {
                throw SystemCallError("setgroups", user.description)
            }
            if appattach_thread_setresgid(gid_t.max, user.gid, gid_t.max) != 0 {
                throw SystemCallError("setresgid", user.description)
            }
            if appattach_thread_setresuid(uid_t.max, user.uid, uid_t.max) != 0 {
                throw SystemCallError("setresuid", user.description)
            }
        } catch {
            try? current.restore()
            throw error
        }
        return current
    }

    /// Switches the calling thread back to root's ids, groups and effective capabilities. If
    /// that fails the thread still carries the user's ids, and the process stays non-dumpable.
    func restore() throws(SystemCallError) {
        guard switched else { return }
        if appattach_thread_setresuid(uid_t.max, 0, uid_t.max) != 0 { throw SystemCallError("setresuid", "root") }
        if appattach_thread_setresgid(gid_t.max, originalGID, gid_t.max) != 0 { throw SystemCallError("setresgid", "root") }
        if originalGroups.withUnsafeBufferPointer({ appattach_thread_setgroups($0.count, $0.baseAddress) }) != 0 {
            throw SystemCallError("setgroups", "root")
        }
        SwitchedThreads.leave()
    }

    /// The calling thread's real, effective and saved uid.
    static func userIDs() -> (real: uid_t, effective: uid_t, saved: uid_t) {
        var r: uid_t = 0, e: uid_t = 0, s: uid_t = 0
        _ = appattach_thread_getresuid(&r, &e, &s)
        return (r, e, s)
    }
}

/// The threads switched to a user right now, process-wide. The kernel clears the process's
/// dumpable flag whenever a thread changes its ids; it is set again only when the last switched
/// thread is root again, and only if the process was dumpable before the first one switched.
enum SwitchedThreads {
    private struct State {
        var count = 0
        var dumpableBefore = false
    }

    private static let state = Mutex(State())

    static func enter() {
        state.withLock {
            if $0.count == 0 { $0.dumpableBefore = appattach_get_dumpable() == 1 }
            $0.count += 1
        }
    }

    static func leave() {
        state.withLock {
            $0.count -= 1
            if $0.count == 0 && $0.dumpableBefore { _ = appattach_set_dumpable(1) }
        }
    }
}
