import Testing

/// Tags of tests that change the host while they run. Each such test cleans up after itself
/// (in `defer` or a helper's `deinit`), so that after a run nothing of theirs is left: no user
/// whose name starts with `aat`, no mount and no loop device backed by a file below a path
/// containing `/appattach-test-`, no cgroup named `appattach-test-…`. Their suites' names
/// end in a parenthesis saying so, such as `(root: users)`.
extension Tag {
    /// Makes users (and groups) with `useradd`/`groupadd`, named `aat…`; deletes them after.
    @Tag public static var makesUsers: Self

    /// Attaches loop devices to files in an `appattach-test-` directory; detaches them after.
    @Tag public static var attachesLoopDevices: Self

    /// Mounts file systems below an `appattach-test-` directory; unmounts them after.
    @Tag public static var mounts: Self

    /// Makes cgroups in the cgroup2 tree, below `appattach-test-<pid>`; removes them after.
    @Tag public static var makesCgroups: Self
}
