import Foundation
import Testing

/// The full `--help` text of each command, compared with the built binary's: a changed help
/// text is a change an admin sees, so it shows up here and is made on purpose.
@Suite("appattachctl help texts")
struct HelpTextTests {
    /// Runs `appattachctl ARGS --help` at a fixed width (argument-parser wraps to `COLUMNS`).
    static func help(_ arguments: [String]) throws -> (status: Int32, out: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLineTests.binary)
        p.arguments = arguments + ["--help"]
        p.environment = ["COLUMNS": "80", "PATH": "/usr/bin:/bin"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static let expected: [String: String] = [
        "upload": #"""
        OVERVIEW: Copy an image onto the MSIX share and record it in the share's
        catalog.

        The image is checked first (it must be an image a host can stage), copied to
        <share>/images/<name> under a temporary name, synced and renamed into place,
        and recorded in <share>/catalog.json with its SHA-256, size, container and
        filesystem. Uploading the same bytes again does nothing. Several uploaders may
        run at once.

        USAGE: appattachctl upload <image> --share <path> [--name <name>] [--package <full-name> ...] [--replace] [--json]

        ARGUMENTS:
          <image>                 The image to upload (VHDX, VHD or raw EROFS/ext4).

        OPTIONS:
          --share <path>          Where the share is mounted.
          --name <name>           The file name on the share (default: the image's own).
          --package <full-name>   A PackageFullName inside the image, for the catalog
                                  (repeatable).
          --replace               Overwrite an image of the same name that has
                                  different content.
          --json                  Print machine-readable JSON instead of text.
          --version               Show the version.
          -h, --help              Show help information.
        """#,
        "health": #"""
        OVERVIEW: Show this host's health (Healthy, NeedsAssistance, Unhealthy) with a
        reason per package.

        A package of the host pool that this host cannot stage makes the host what its
        entry's health key says: Unhealthy (send no new sessions here), NeedsAssistance
        (keep serving, flag for an admin) or DoNotFail (logged only). The exit status
        is 0 for Healthy, 1 for NeedsAssistance and 2 for Unhealthy; a host whose agent
        does not answer is Unhealthy, since nobody who signs in gets apps. Any user may
        ask.

        USAGE: appattachctl health [--timeout <seconds>] [--json]

        OPTIONS:
          --timeout <seconds>     How long to wait for the agent's answer. (default: 5)
          --json                  Print machine-readable JSON instead of text.
          --version               Show the version.
          -h, --help              Show help information.
        """#,
        "hostpool check": #"""
        OVERVIEW: Validate a host-pool file and show its packages and whom they are
        published to.

        Names are resolved through NSS on this machine; a name unknown here may still
        resolve on the session hosts. Exits non-zero with a file:line error when the
        file would be refused by the hosts.

        USAGE: appattachctl hostpool check <file> [--user <user>] [--json]

        ARGUMENTS:
          <file>                  The host-pool file (hostpools/<pool>.toml).

        OPTIONS:
          --user <user>           Also show which packages this user (name or uid) gets.
          --json                  Print machine-readable JSON instead of text.
          --version               Show the version.
          -h, --help              Show help information.
        """#,
        "register": #"""
        OVERVIEW: Register a user's assigned packages now (root, or yourself).

        The agent does this by itself when a user signs in; this is for admins and
        scripts.

        USAGE: appattachctl register [<user>] [--self] [--wait] [--json]

        ARGUMENTS:
          <user>                  A user name or uid.

        OPTIONS:
          --self                  Register yourself.
          --wait                  Return when the registration is done, not when it is
                                  queued.
          --json                  Print machine-readable JSON instead of text.
          --version               Show the version.
          -h, --help              Show help information.
        """#,
        "deregister": #"""
        OVERVIEW: Deregister a user's packages now (root, or yourself with --self).

        The user unit appattach-user.service runs `appattachctl deregister --self
        --wait` when the user's last session ends, while the home directory is still
        there.

        USAGE: appattachctl deregister [<user>] [--self] [--wait] [--json]

        ARGUMENTS:
          <user>                  A user name or uid.

        OPTIONS:
          --self                  Deregister yourself.
          --wait                  Return when the deregistration is done, not when it
                                  is queued.
          --json                  Print machine-readable JSON instead of text.
          --version               Show the version.
          -h, --help              Show help information.
        """#,
        "history": #"""
        OVERVIEW: Show the agent's recent events (root: all; others: their own).

        USAGE: appattachctl history [-n <n>] [--json]

        OPTIONS:
          -n <n>                  How many events. (default: 20)
          --json                  Print machine-readable JSON instead of text.
          --version               Show the version.
          -h, --help              Show help information.
        """#,
        "pam-hook": #"""
        OVERVIEW: PAM session hook: hold a sign-in until the user's regular
        registrations are done.

        On PAM_TYPE=open_session, asks the agent to register PAM_USER and waits, at
        most the host's registration.logon_timeout_seconds. It never fails a sign-in:
        it always exits 0, and says in the system log why it gave up, if it did.

        USAGE: appattachctl pam-hook [--config <file>]

        OPTIONS:
          --config <file>         The host configuration, for the timeout. (default:
                                  /etc/appattach/appattach.toml)
          --version               Show the version.
          -h, --help              Show help information.
        """#,
        "status": #"""
        OVERVIEW: Show staged images and packages: backing file and loop device if any,
        mount point, size.

        Only reads: it changes nothing, and may run beside a stage or destage. After a
        crash, `appattachctl repair` puts staging right.

        USAGE: appattachctl status [--json]

        OPTIONS:
          --json                  Print machine-readable JSON instead of text.
          --version               Show the version.
          -h, --help              Show help information.
        """#,
    ]

    /// `repair`, kept apart from the table above so that each change stays small.
    static let repair = #"""
        OVERVIEW: Put staging right after a crash: finish or undo interrupted stages
        and destages (root).

        Detaches loop devices of appattach that nothing mounts, finishes stages
        interrupted after the image was mounted, unmounts packages whose image is gone,
        and removes records and directories of what is not staged; prints each repair.
        It takes the staging lock, so it waits for a stage or destage in progress (at
        most 30 seconds) and never takes that for a leftover. The agent does the same
        when it starts.

        USAGE: appattachctl repair [--json]

        OPTIONS:
          --json                  Print machine-readable JSON instead of text.
          --version               Show the version.
          -h, --help              Show help information.
        """#

    @Test("repair --help is the text admins read")
    func repairHelp() throws {
        let r = try Self.help(["repair"])
        #expect(r.status == 0)
        #expect(r.out == Self.repair + "\n\n", "appattachctl repair --help:\n\(r.out)")
    }

    @Test("--help of each command is the text admins read", arguments: expected.keys.sorted())
    func helpText(command: String) throws {
        let r = try Self.help(command.split(separator: " ").map(String.init))
        #expect(r.status == 0)
        let want = try #require(Self.expected[command]) + "\n\n"
        #expect(r.out == want, "appattachctl \(command) --help:\n\(r.out)")
    }
}
