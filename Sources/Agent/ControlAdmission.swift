import Glibc

/// Who holds how many control connections, against ``ControlLimits``: root apart from the
/// users, each user apart, and the users together.
struct ControlAdmission {
    let limits: ControlLimits
    private(set) var byUID: [uid_t: Int] = [:]
    private(set) var users = 0
    private(set) var root = 0

    init(limits: ControlLimits) { self.limits = limits }

    /// Why a new connection of `uid` is refused, or nil when it is taken.
    func refusal(for uid: uid_t) -> String? {
        if uid == 0 {
            return root < limits.root ? nil
                : "root has \(root) connections to the appattach agent open, the most it takes from root; try again shortly"
        }
        let own = byUID[uid] ?? 0
        if own >= limits.perUser {
            return "uid \(uid) has \(own) connections to the appattach agent open, the most one user may have; close one and try again"
        }
        if users >= limits.allUsers {
            return "users have \(users) connections to the appattach agent open, the most it takes from users; try again shortly"
        }
        return nil
    }

    /// Counts a connection of `uid` that was taken.
    mutating func admit(_ uid: uid_t) {
        if uid == 0 { root += 1; return }
        byUID[uid, default: 0] += 1
        users += 1
    }

    /// Forgets a connection of `uid` that was closed.
    mutating func release(_ uid: uid_t) {
        if uid == 0 { root -= 1; return }
        let left = (byUID[uid] ?? 1) - 1
        byUID[uid] = left > 0 ? left : nil
        users -= 1
    }
}
