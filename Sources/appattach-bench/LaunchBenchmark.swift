import ArgumentParser
import Container
import Foundation
import Glibc

/// `appattach-bench launch`: what starting an app through `appattach-launch` adds over
/// starting its executable directly. The same tiny program (a copy of `true`) is started
/// N times each way, by `posix_spawn` + `waitpid`, as the calling user, with a throwaway home,
/// package and layer: directly; through the launcher with its namespace and four overlays;
/// through the launcher with the XDG fallback. The launcher also tries the user's systemd
/// manager for the scope: where there is none (a root shell on a host), that try is included.
struct LaunchBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Launch overhead: the app's container (appattach-launch) against starting the executable directly.")

    @Option(help: "Starts per way.")
    var runs = 100

    @Option(help: ArgumentHelp("The launcher (default: beside appattach-bench, or $APPATTACH_LAUNCHER).", valueName: "path"))
    var launcher: String?

    func run() throws {
        let launcher = try launcher ?? LauncherLocation.find()
        let root = try makeDirectory()
        defer { _ = try? FileManager.default.removeItem(atPath: root) }
        let family = "bench-app_0123456789abc"
        let home = root + "/home", package = root + "/package", users = root + "/users"
        for dir in [home, package, users, "\(users)/\(getuid())", "\(users)/\(getuid())/\(family)"] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
        try FileManager.default.copyItem(atPath: "/bin/true", toPath: package + "/app")
        let request = try LaunchRequest(appUserModelId: "\(family)!App", packagePath: package, executable: "app",
                                        arguments: ["%U-expanded.txt"], usersDirectory: users)
        let hasManager = access((getenv("XDG_RUNTIME_DIR").map { String(cString: $0) } ?? "/run/user/\(getuid())")
                                + "/systemd/private", F_OK) == 0
        let ways: [(String, [String], [String])] = [
            ("executable directly", [request.program] + request.arguments, []),
            ("appattach-launch: namespace + 4 overlays", [launcher] + request.commandLine, []),
            ("appattach-launch: XDG fallback", [launcher] + request.commandLine, ["APPATTACH_CONTAINER=xdg"]),
        ]
        var results: [(String, Samples)] = []
        for (name, argv, extra) in ways {
            var samples = Samples()
            for _ in 0..<runs { samples.add(try timed { try spawnAndWait(argv, home: home, extra: extra) }) }
            results.append((name, samples))
        }
        let base = results[0].1.p50
        print("launch overhead, \(runs) starts each, scope: \(hasManager ? "made by the user manager" : "no user manager here, the try is included")")
        printTable(["way", "p50 ms", "p95 ms", "max ms", "added p50 ms"], results.map { name, s in
            [name, ms(s.p50), ms(s.p95), ms(s.maximum), ms(s.p50 - base)]
        })
    }

    private func makeDirectory() throws -> String {
        var template = Array("/var/tmp/appattach-bench-launch-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw ValidationError("mkdtemp: \(String(cString: strerror(errno)))")
        }
        return String(cString: made)
    }

    /// posix_spawn, then waitpid; the child's standard error goes to /dev/null (the launcher
    /// says once per start that there is no scope where there is no user manager).
    private func spawnAndWait(_ argv: [String], home: String, extra: [String]) throws {
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = home
        for item in extra { let kv = item.split(separator: "=", maxSplits: 1); environment[String(kv[0])] = String(kv[1]) }
        let envp = environment.map { strdup("\($0)=\($1)") } + [nil]
        let args = argv.map { strdup($0) } + [nil]
        defer { (envp + args).forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid = pid_t()
        let r = posix_spawn(&pid, argv[0], &actions, nil, args, envp)
        guard r == 0 else { throw ValidationError("\(argv[0]): \(String(cString: strerror(r)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else { throw ValidationError("\(argv.joined(separator: " ")): exit status \(status)") }
    }
}
