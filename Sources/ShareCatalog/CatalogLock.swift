import Foundation
import Glibc
import LinuxSystem

/// Mutual exclusion between everyone who updates a share's catalog, on any machine.
///
/// `flock` cannot be trusted here: on cifs it only works with some mount options and server
/// support, and on a FUSE mount (smbnetfs) it may lock only on the local machine. What every
/// SMB path does atomically on the server is an exclusive create (`O_CREAT|O_EXCL`, SMB's
/// `FILE_CREATE`), so the lock is a file that exists while someone holds it. It holds a
/// random token, so that a holder removes only its own lock.
///
/// A holder that died leaves the file behind. Waiters therefore watch it: a lock whose content
/// has not changed for `staleAfter`, measured on the waiter's own monotonic clock (so clock
/// skew between machines does not matter), is taken to be abandoned and removed. Updates hold
/// the lock for milliseconds, so the default of 30 s leaves a wide margin.
struct CatalogLock {
    let path: String
    let token: String

    /// Creates the lock file, waiting up to `timeout` for another holder to finish.
    static func acquire(path: String, owner: String, timeout: Duration = .seconds(60),
                        staleAfter: Duration = .seconds(30), pollInterval: Duration = .milliseconds(20)) throws -> CatalogLock {
        let token = "owner=\(owner) pid=\(getpid()) id=\(UUID().uuidString)\n"
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var observed: (content: String, since: ContinuousClock.Instant)?
        while true {
            if try create(path: path, token: token) { return CatalogLock(path: path, token: token) }
            // The lock may be released between our create and this read: then it reads as
            // missing and the next create succeeds.
            let content = read(path) ?? ""
            let now = clock.now
            if let seen = observed, seen.content == content {
                if now - seen.since >= staleAfter {
                    removeStale(path: path, content: content)
                    observed = nil
                    continue
                }
            } else {
                observed = (content, now)
            }
            if now >= deadline {
                let holder = content.trimmingCharacters(in: .whitespacesAndNewlines)
                throw ShareCatalogError(path, "the catalog is being updated by someone else (\(holder.isEmpty ? "lock file without owner" : holder)); try again, or remove the lock file if no upload is running")
            }
            Thread.sleep(forTimeInterval: Double(pollInterval.components.seconds)
                         + Double(pollInterval.components.attoseconds) / 1e18)
        }
    }

    /// Removes the lock if it is still ours.
    func release() {
        if Self.read(path) == token { unlink(path) }
    }

    /// Tries the exclusive create; false if the file exists.
    private static func create(path: String, token: String) throws -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 {
            if errno == EEXIST { return false }
            throw SystemCallError("create lock", path)
        }
        let file = OpenFile(adopting: fd, path: path)
        do {
            try file.write(Array(token.utf8), at: 0)
            try file.sync()
            try file.close()
        } catch {
            unlink(path)
            throw error
        }
        return true
    }

    /// Moves an abandoned lock aside and deletes it. Moving first makes removal atomic among
    /// several waiters that all judged it abandoned: only one rename succeeds. If what was
    /// moved is not the lock judged abandoned (a new holder created it in between), it is put
    /// back.
    private static func removeStale(path: String, content: String) {
        let aside = path + ".stale-" + UUID().uuidString
        guard rename(path, aside) == 0 else { return }
        if (read(aside) ?? "") == content {
            unlink(aside)
        } else {
            rename(aside, path)
        }
    }

    private static func read(_ path: String) -> String? {
        guard let file = try? OpenFile.openForReading(path), let size = try? file.size(),
              let bytes = try? file.read(count: Int(min(size, 4096)), at: 0) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
