import Glibc
import LinuxSystem

/// The directory a package is unpacked into: creates subdirectories and files strictly below
/// it and remembers what it created so a failed unpack can be undone.
///
/// Paths are walked one component at a time with `openat(O_NOFOLLOW|O_DIRECTORY)`, and files
/// are created with `O_CREAT|O_EXCL|O_NOFOLLOW`, so a symbolic link planted in the tree (or a
/// file that already exists) stops the unpack instead of redirecting a write outside it.
final class UnpackDestination {
    let rootPath: String
    private let rootDescriptor: Int32
    private(set) var createdFiles: [String] = []
    private(set) var createdDirectories: [String] = []
    private let createdRoot: Bool
    /// Consecutive files usually share a directory; keep the last one open.
    private var cachedDirectory: (path: String, descriptor: Int32)?

    init(path: String) throws(MSIXError) {
        rootPath = path
        if mkdir(path, 0o755) == 0 {
            createdRoot = true
        } else if errno == EEXIST {
            createdRoot = false
        } else {
            throw Self.failure(path, "cannot create directory")
        }
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Self.failure(path, "cannot open directory") }
        rootDescriptor = descriptor
    }

    deinit {
        if let cachedDirectory { close(cachedDirectory.descriptor) }
        close(rootDescriptor)
    }

    private static func failure(_ path: String, _ what: String, errno code: Int32 = errno) -> MSIXError {
        MSIXError(.fileSystem, file: path, "\(what): \(String(cString: strerror(code)))")
    }

    /// Creates the file at `relativePath` (a name checked by `PartName.validate`), creating
    /// its directories first. The file is new: an existing file or link there is an error.
    func createFile(_ relativePath: String) throws(MSIXError) -> OpenFile {
        let components = relativePath.split(separator: "/").map(String.init)
        let directory = try directoryDescriptor(components.dropLast().joined(separator: "/"))
        let fullPath = rootPath + "/" + relativePath
        let descriptor = openat(directory, components.last!, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Self.failure(fullPath, "cannot create file") }
        createdFiles.append(relativePath)
        return OpenFile(adopting: descriptor, path: fullPath)
    }

    private func directoryDescriptor(_ relativeDirectory: String) throws(MSIXError) -> Int32 {
        if relativeDirectory.isEmpty { return rootDescriptor }
        if let cachedDirectory, cachedDirectory.path == relativeDirectory { return cachedDirectory.descriptor }
        var current = dup(rootDescriptor)
        guard current >= 0 else { throw Self.failure(rootPath, "cannot open directory") }
        var walked = ""
        for component in relativeDirectory.split(separator: "/").map(String.init) {
            walked += walked.isEmpty ? component : "/" + component
            if mkdirat(current, component, 0o755) == 0 {
                createdDirectories.append(walked)
            } else if errno != EEXIST {
                let code = errno
                close(current)
                throw Self.failure(rootPath + "/" + walked, "cannot create directory", errno: code)
            }
            let next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let code = errno
            close(current)
            guard next >= 0 else { throw Self.failure(rootPath + "/" + walked, "cannot open directory", errno: code) }
            current = next
        }
        if let cachedDirectory { close(cachedDirectory.descriptor) }
        cachedDirectory = (relativeDirectory, current)
        return current
    }

    /// Removes every file and directory this destination created, newest first, and the root
    /// itself if it created it. Best effort: it runs while another error is being reported.
    func removeCreated() {
        for file in createdFiles.reversed() { unlinkat(rootDescriptor, file, 0) }
        for directory in createdDirectories.reversed() { unlinkat(rootDescriptor, directory, AT_REMOVEDIR) }
        if createdRoot { rmdir(rootPath) }
    }
}
