import ArgumentParser
import Container
import Foundation
import Glibc

/// `appattach-bench launch`: what starting an app through `appattach-launch` adds over
/// starting its executable directly. The same small program (a copy of `date`, printing the
/// time it runs) is started N times each way, by `posix_spawn`, as the calling user, with a
/// throwaway home, package and layer: directly; through the launcher with its namespace and
/// four overlays; through the launcher with the XDG fallback. Two times per start: until the
/// app runs (what a user waits for) and until `waitpid` returns (which adds the kernel's
/// teardown of the namespace's mounts when the app exits). The launcher also tries the user's
/// systemd manager for the scope: where there is none (a root shell on a host), that try is
/// included.
struct LaunchBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Launch overhead: the app's container (appattach-launch) against starting the executable directly.")

    @Option(help: "Starts per way.")
    var runs = 100

    @Option(help: ArgumentHelp("The launcher (default: beside appattach-bench, or $APPATTACH_LAUNCHER).", valueName: "path"))
    var launcher: String?

    @Option(help: ArgumentHelp("Where the throwaway home, package and layer go: a file system that can hold an overlay's upper directory.", valueName: "dir"))
    var scratch = "/var/tmp"

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
        try FileManager.default.copyItem(atPath: "/bin/date", toPath: package + "/app")
        let request = try LaunchRequest(appUserModelId: "\(family)!App", packagePath: package, executable: "app",
                                        arguments: ["+%s%N"], usersDirectory: users)
        let hasManager = access((getenv("XDG_RUNTIME_DIR").map { String(cString: $0) } ?? "/run/user/\(getuid())")
                                + "/systemd/private", F_OK) == 0
        let ways: [(String, [String], [String])] = [
            ("executable directly", [request.program] + request.arguments, []),
            ("appattach-launch: namespace + 4 overlays", [launcher] + request.commandLine, []),
            ("appattach-launch: XDG fallback", [launcher] + request.commandLine, ["APPATTACH_CONTAINER=xdg"]),
        ]
        var results: [(String, Samples, Samples)] = []
        // Interleaved, so that load from elsewhere on the machine hits every way alike.
        var started = [Samples](repeating: Samples(), count: ways.count)
        var exited = [Samples](repeating: Samples(), count: ways.count)
        for _ in 0..<runs {
            for (index, way) in ways.enumerated() {
                let (start, end) = try spawnAndWait(way.1, home: home, extra: way.2)
                started[index].add(start)
                exited[index].add(end)
            }
        }
        for (index, way) in ways.enumerated() { results.append((way.0, started[index], exited[index])) }
        let base = results[0].1.p50, baseExit = results[0].2.p50
        print("launch overhead, \(runs) starts each, scope: \(hasManager ? "made by the user manager" : "no user manager here, the try is included")")
        printTable(["way", "to app p50 ms", "p95 ms", "added p50 ms", "to exit p50 ms", "added p50 ms"], results.map { name, s, e in
            [name, ms(s.p50), ms(s.p95), ms(s.p50 - base), ms(e.p50), ms(e.p50 - baseExit)]
        })
    }

    private func makeDirectory() throws -> String {
        var template = Array("\(scratch)/appattach-bench-launch-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw ValidationError("mkdtemp: \(String(cString: strerror(errno)))")
        }
        return String(cString: made)
    }

    /// posix_spawn, then waitpid; the child's standard error goes to /dev/null (the launcher
    /// says once per start that there is no scope where there is no user manager). Returns the
    /// seconds until the app printed its start time, and until it was reaped.
    private func spawnAndWait(_ argv: [String], home: String, extra: [String]) throws -> (Double, Double) {
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
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw ValidationError("socketpair: \(String(cString: strerror(errno)))")
        }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        var pid = pid_t()
        let before = realtime()
        let r = posix_spawn(&pid, argv[0], &actions, nil, args, envp)
        close(fds[1])
        guard r == 0 else { close(fds[0]); throw ValidationError("\(argv[0]): \(String(cString: strerror(r)))") }
        var output = [UInt8](repeating: 0, count: 64)
        var length = 0
        while length < output.count {
            let n = output.withUnsafeMutableBytes { read(fds[0], $0.baseAddress! + length, $0.count - length) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            length += n
        }
        close(fds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let end = realtime()
        guard status == 0 else { throw ValidationError("\(argv.joined(separator: " ")): exit status \(status)") }
        let text = String(decoding: output[..<length], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let printed = Double(text) else { throw ValidationError("\(argv[0]): printed '\(text)', not a time") }
        return (printed / 1e9 - before, end - before)
    }

    private func realtime() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
