import Glibc

/// A process that uses a file below some directory.
public struct ProcessUsage: Sendable, Equatable, CustomStringConvertible {
    /// Process id.
    public let pid: Int32
    /// Its command name (`/proc/PID/comm`).
    public let command: String
    /// How it uses the directory: `cwd`, `root`, `exe`, `fd`, `mmap`.
    public let how: String

    public var description: String { "\(command)[\(pid)] (\(how))" }
}

/// Finds the processes that keep a mount busy, by reading `/proc`: their working directory,
/// root, executable, open files and mapped files. Used to say *who* holds a package when a
/// destage is refused, the way `fuser -m` would.
public enum ProcessScan {
    /// Every process with something open below `directory`.
    public static func users(of directory: String) -> [ProcessUsage] {
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        func inside(_ path: String) -> Bool { path == directory || path.hasPrefix(prefix) }
        guard let proc = opendir("/proc") else { return [] }
        defer { closedir(proc) }
        var found: [ProcessUsage] = []
        while let entry = readdir(proc) {
            let name = DirectoryListing.name(of: entry)
            guard let pid = Int32(name) else { continue }
            let base = "/proc/\(pid)"
            let command = (try? SysfsFile.read(base + "/comm")) ?? "?"
            var how: String?
            for link in ["cwd", "root", "exe"] where how == nil {
                if let target = readLink(base + "/" + link), inside(target) { how = link }
            }
            if how == nil, let fds = opendir(base + "/fd") {
                while let fd = readdir(fds) {
                    let n = DirectoryListing.name(of: fd)
                    if let target = readLink(base + "/fd/" + n), inside(target) { how = "fd"; break }
                }
                closedir(fds)
            }
            if how == nil, let maps = try? SysfsFile.read(base + "/maps"),
               maps.split(separator: "\n").contains(where: { line in
                   line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true).last.map { inside(String($0)) } ?? false
               }) {
                how = "mmap"
            }
            if let how { found.append(ProcessUsage(pid: pid, command: command, how: how)) }
        }
        return found.sorted { $0.pid < $1.pid }
    }

    static func readLink(_ path: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = buffer.withUnsafeMutableBufferPointer { raw in
            raw.withMemoryRebound(to: CChar.self) { readlink(path, $0.baseAddress!, $0.count - 1) }
        }
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n], as: UTF8.self)
    }
}
