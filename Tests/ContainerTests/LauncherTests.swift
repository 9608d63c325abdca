import AppData
import Foundation
import Glibc
import LinuxSystem
import Testing
import TestSupport

/// The built `appattach-launch`, run as a real throwaway user (made with `useradd`, removed
/// after) on this host: the overlays, the isolation between packages, the XDG fallback and the
/// refusal of a missing layer. Needs root (useradd, and the layers made as an agent makes them).
@Suite("appattach-launch as a user (root: users)", .serialized, .tags(.makesUsers),
       .enabled(if: TestEnvironment.isRoot && TestEnvironment.hasTool("useradd") && TestEnvironment.hasTool("setpriv"),
                "needs root, useradd and setpriv (a test user, layers as the agent makes them)"))
struct LauncherTests {
    static let launcher: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("appattach-launch").path
    }()
    static let family = "notes-app_1a2b3c4d5e6f7"
    static let otherFamily = "other-app_7f6e5d4c3b2a1"

    /// A user, a home with settings of their own, a package with a shell app, and two layers;
    /// `deinit` removes the user and everything made.
    final class Fixture {
        let root = TestEnvironment.makeTemporaryDirectory("launch")
        let testUser: TestUser
        var uid: uid_t { testUser.account.uid }
        var gid: gid_t { testUser.account.gid }
        var home: String { testUser.home }
        var package: String { root + "/package" }
        var users: String { root + "/users" }
        var layer: String { "\(users)/\(uid)/\(LauncherTests.family)" }

        init() throws {
            chmod(root, 0o755)
            do {
                testUser = try TestUser(base: root)
            } catch {
                try? FileManager.default.removeItem(atPath: root)
                throw error
            }
            try FileManager.default.createDirectory(atPath: package, withIntermediateDirectories: true)
            // The app writes settings, appends to a log, changes a file the user has, and shows
            // what it can see of other packages' data.
            try """
                #!/bin/sh
                echo "cwd=$(pwd) args=$#:$1|$2"
                mkdir -p "${XDG_CONFIG_HOME:-$HOME/.config}/notes" "${XDG_DATA_HOME:-$HOME/.local/share}/notes"
                echo "theme=dark" > "${XDG_CONFIG_HOME:-$HOME/.config}/notes/settings"
                echo "started" >> "${XDG_DATA_HOME:-$HOME/.local/share}/notes/log"
                echo "read=$(cat "$HOME/.config/user-file" 2>/dev/null)"
                echo "changed by the app" > "$HOME/.config/user-file"
                echo "others=$(ls -A "$LAYERS" "$HOME/.local/share/appattach" 2>&1 | tr '\\n' ' ')"
                """.write(toFile: package + "/notes", atomically: true, encoding: .utf8)
            chmod(package + "/notes", 0o755)
            // The home as the user has it, with a file of theirs and another package's saved data.
            try user("mkdir -p ~/.config ~/.local/share/appattach/\(LauncherTests.otherFamily) && echo mine > ~/.config/user-file"
                     + " && echo secret > ~/.local/share/appattach/\(LauncherTests.otherFamily)/saved")
            // The layers as the agent makes them: users/<uid> and users/<uid>/<family>, the user's, 0700.
            for dir in [users, "\(users)/\(uid)", layer, "\(users)/\(uid)/\(LauncherTests.otherFamily)"] {
                mkdir(dir, 0o700)
                if dir != users { chown(dir, uid, gid) } else { chmod(dir, 0o755) }
            }
            try user("echo other > \(users)/\(uid)/\(LauncherTests.otherFamily)/secret")
        }

        /// Runs a shell command as the user, in the home.
        @discardableResult
        func user(_ command: String, environment: [String] = []) throws -> (status: Int32, output: String) {
            mkdir(home, 0o700)
            chown(home, uid, gid)
            let result = try TestEnvironment.run(["setpriv", "--reuid=\(uid)", "--regid=\(gid)", "--init-groups",
                                                  "env", "-i", "HOME=\(home)", "PATH=/usr/bin:/bin", "LAYERS=\(users)/\(uid)"]
                                                 + environment + ["sh", "-c", "cd && " + command])
            return result
        }

        /// Runs the launcher as the user for the notes app.
        func launch(_ arguments: [String], environment: [String] = [], family: String = LauncherTests.family) throws -> (status: Int32, output: String) {
            let words = [LauncherTests.launcher, "--users-directory", users, "\(family)!Notes", package, "notes", "--"] + arguments
            return try user(words.map { "'" + $0 + "'" }.joined(separator: " "), environment: environment)
        }

        func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

        deinit {
            testUser.remove()
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    static let namespacesAllowed: Bool = {
        let value = (try? String(contentsOfFile: "/proc/sys/user/max_user_namespaces", encoding: .utf8)) ?? "0"
        return (Int(value.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0
    }()

    @Test(.enabled(if: namespacesAllowed, "needs user namespaces (user.max_user_namespaces is 0 on this host)"))
    func overlaysCaptureWritesAndHideOtherPackages() throws {
        let f = try Fixture()
        let first = try f.launch(["a b", "--x"])
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("cwd=\(f.package) args=2:a b|--x"), "\(first.output)")
        #expect(first.output.contains("read=mine"), "\(first.output)")
        // No scope is checked here: a throwaway user has no systemd user manager, and without
        // one the launcher goes on without a scope (scripts/test-agent checks the scope).
        // Another package's layer and saved data are hidden.
        #expect(!first.output.contains("secret") && !first.output.contains(Self.otherFamily), "\(first.output)")
        _ = try f.launch([])
        // The writes are in the layer; the user's own files are as they were.
        #expect(f.read("\(f.layer)/config/upper/notes/settings") == "theme=dark\n")
        #expect(f.read("\(f.layer)/data/upper/notes/log") == "started\nstarted\n")
        #expect(f.read("\(f.layer)/config/upper/user-file") == "changed by the app\n")
        #expect(f.read("\(f.home)/.config/user-file") == "mine\n")
        #expect(!FileManager.default.fileExists(atPath: "\(f.home)/.config/notes"))
        #expect(!FileManager.default.fileExists(atPath: "\(f.home)/.local/share/notes"))
        // The second launch read the first one's write through the overlay.
        let third = try f.launch([])
        #expect(third.output.contains("read=changed by the app"), "\(third.output)")
        // Nothing is left mounted on the host.
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!mounts.contains(f.root))
    }

    /// Started with SIGTERM and SIGHUP blocked (as from a thread that blocks them), the app
    /// still starts with none blocked: a blocked mask survives exec, and would keep the app from
    /// being stopped at sign-out.
    @Test func appStartsWithNoSignalBlocked() throws {
        let f = try Fixture()
        mkdir(f.home, 0o700)
        chown(f.home, f.uid, f.gid)
        let output = f.root + "/launch.out"
        // The app is a copy of grep, not a script: a shell clears the blocked set itself.
        try FileManager.default.copyItem(atPath: "/usr/bin/grep", toPath: f.package + "/show-mask")
        let words = ["setpriv", "--reuid=\(f.uid)", "--regid=\(f.gid)", "--init-groups", "env", "-i", "HOME=\(f.home)",
                     "PATH=/usr/bin:/bin", "LAYERS=\(f.users)/\(f.uid)", "APPATTACH_CONTAINER=xdg", Self.launcher,
                     "--users-directory", f.users, "\(Self.family)!Notes", f.package, "show-mask", "--",
                     "^SigBlk", "/proc/self/status"]
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGTERM)
        sigaddset(&blocked, SIGHUP)
        posix_spawnattr_setsigmask(&attributes, &blocked)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        #expect(posix_spawnp(&pid, "setpriv", &actions, &attributes, argv, environ) == 0)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let said = f.read(output) ?? ""
        #expect(status == 0, "\(said)")
        #expect(said.contains("SigBlk:\t0000000000000000"), "\(said)")
    }

    @Test func environmentFallbackWhenAsked() throws {
        let f = try Fixture()
        let run = try f.launch(["x"], environment: ["APPATTACH_CONTAINER=xdg"])
        #expect(run.status == 0, "\(run.output)")
        #expect(f.read("\(f.layer)/config/upper/notes/settings") == "theme=dark\n")
        #expect(f.read("\(f.layer)/data/upper/notes/log") == "started\n")
        #expect(!FileManager.default.fileExists(atPath: "\(f.home)/.config/notes"))
        // Without its namespace the app sees the real home (the fallback's known limit).
        #expect(run.output.contains("read=mine"), "\(run.output)")
        // Said once: on standard error here when there is no journal.
        if access("/run/systemd/journal/socket", W_OK) != 0 {
            #expect(run.output.contains("apps run without their own namespace"), "\(run.output)")
        }
    }

    @Test func missingLayerIsOneLineError() throws {
        let f = try Fixture()
        let run = try f.launch([], family: "absent_0000000000000")
        #expect(run.status == 1)
        let lines = run.output.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("appattach-launch: \(f.users)/\(f.uid)/absent_0000000000000: no app data layer"),
                "\(run.output)")
        #expect(!FileManager.default.fileExists(atPath: "\(f.users)/\(f.uid)/absent_0000000000000"))
    }
}
