import Glibc
import CLinuxShims

/// Runs a helper program from the distribution (mkfs.erofs, mkfs.ext4, …) and reports its
/// failure as one line: the program, its exit status and the last thing it said.
public struct ExternalCommand: Sendable {
    /// The program name as found on PATH, for example `mkfs.erofs`.
    public let program: String
    /// Its arguments.
    public let arguments: [String]
    /// The Debian package that provides it, named in the error when it is missing.
    public let package: String?

    public init(_ program: String, _ arguments: [String], package: String? = nil) {
        self.program = program
        self.arguments = arguments
        self.package = package
    }

    /// Why a command could not do its job.
    public struct Failure: AppAttachError {
        public let description: String
    }

    /// The absolute path of `program` on PATH (plus the sbin directories), or nil.
    public static func locate(_ program: String) -> String? {
        if program.hasPrefix("/") { return access(program, X_OK) == 0 ? program : nil }
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
            let candidate = "\(dir)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Runs the program, waits, and returns its standard output. Standard error is kept
    /// for the error message. Throws `Failure` when it cannot start or exits non-zero.
    @discardableResult
    public func run() throws -> String {
        guard let executable = Self.locate(program) else {
            let hint = package.map { " (install the Debian package \($0))" } ?? ""
            throw Failure(description: "\(program) not found\(hint)")
        }
        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1]
        guard appattach_pipe_cloexec(&out) == 0 else { throw Failure(description: "cannot start \(program): pipe: \(String(cString: strerror(errno)))") }
        guard appattach_pipe_cloexec(&err) == 0 else {
            let reason = String(cString: strerror(errno))
            close(out[0]); close(out[1])
            throw Failure(description: "cannot start \(program): pipe: \(reason)")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        // The program starts with no signal blocked and every signal at its default action, even
        // when this process blocks or ignores some (the agent handles SIGTERM itself).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let started = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        close(out[1]); close(err[1])
        defer { close(out[0]); close(err[0]) }
        guard started == 0 else {
            throw Failure(description: "cannot start \(program): \(String(cString: strerror(started)))")
        }
        // Read both pipes as they fill, so that neither can block the child.
        let (outBytes, errBytes) = Self.drain(out[0], err[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7f == 0, code = (status >> 8) & 0xff
        guard exited, code == 0 else {
            let said = String(decoding: errBytes.isEmpty ? outBytes : errBytes, as: UTF8.self)
                .split(separator: "\n").last.map(String.init) ?? ""
            let how = exited ? "exit status \(code)" : "signal \(status & 0x7f)"
            throw Failure(description: "\(program) failed (\(how))\(said.isEmpty ? "" : ": \(said)")")
        }
        return String(decoding: outBytes, as: UTF8.self)
    }

    /// Reads two pipes to their ends with `poll`.
    private static func drain(_ first: Int32, _ second: Int32) -> ([UInt8], [UInt8]) {
        var fds = [pollfd(fd: first, events: Int16(POLLIN), revents: 0), pollfd(fd: second, events: Int16(POLLIN), revents: 0)]
        var collected: [[UInt8]] = [[], []]
        var buffer = [UInt8](repeating: 0, count: 65536)
        while fds.contains(where: { $0.fd >= 0 }) {
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for i in fds.indices where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = read(fds[i].fd, &buffer, buffer.count)
                if n > 0 {
                    collected[i] += buffer[0..<n]
                } else if n == 0 || errno != EINTR && errno != EAGAIN {
                    fds[i].fd = -1  // poll ignores negative descriptors
                }
            }
        }
        return (collected[0], collected[1])
    }
}
