/// A user's home directory, open on the worker thread of `UserFiles` while that thread runs
/// with the user's ids: every operation of `ConfinedDirectory` happens as the user, so even
/// a path nobody foresaw reaches nothing the user could not reach, and files belong to them.
/// Only valid inside the job it was handed to.
public final class UserHome: ConfinedDirectory {
    /// The account the thread acts as.
    public let user: UserAccount

    /// Opens `user.home`, which must belong to the user.
    init(user: UserAccount) throws(SystemCallError) {
        self.user = user
        // 0700 for directories it makes, as the XDG base directory spec asks.
        try super.init(path: user.home, owner: user.uid, directoryMode: 0o700)
    }

    /// Paths in messages read `~/.config/mimeapps.list`: short, and the user is named beside.
    public override func display(_ relative: String) -> String { relative.isEmpty ? "~" : "~/" + relative }
}
