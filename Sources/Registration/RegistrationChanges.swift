/// What a registration or deregistration did to a home, paths relative to it.
public struct RegistrationChanges: Sendable, Equatable {
    /// Files written because they were missing or differed.
    public var written: [String] = []
    /// Files removed: stale ones of a registration, all of a deregistration.
    public var removed: [String] = []
    /// Things appattach would have changed but left to the user, one line each: a file of the
    /// user's at an alias's name, a `mimeapps.list` that is a symbolic link.
    public var leftAlone: [String] = []

    public init() {}

    /// True when the home was already as wanted.
    public var isEmpty: Bool { written.isEmpty && removed.isEmpty }
}
