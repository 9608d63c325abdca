import Crypto
import DiskImage
import Glibc
import LinuxSystem
import MSIX

/// Expands MSIX packages into an image an admin uploads to the share: the Linux MSIXMGR.
///
/// The steps, each with one job: check every package (ZIP, content types, block map) before
/// anything is written; unpack each one into `<root-directory>/<PackageFullName>/` while checking
/// every block's SHA-256; make the tree root-owned and read-only with POSIX ACLs; build the
/// filesystem with the distribution's mkfs; wrap it as a fixed VHDX or VHD (a GPT disk with one
/// partition at 1 MiB, laid out so a loop device maps it with one offset). All of it happens in
/// a hidden work directory beside the output, and the image is renamed to its final name only when
/// complete: a failure at any step leaves nothing behind.
public struct Expand {
    /// What was asked.
    public let options: ExpandOptions
    /// Told about progress; `nil` for none.
    public let progress: ExpandProgress?

    public init(_ options: ExpandOptions, progress: ExpandProgress? = nil) {
        self.options = options
        self.progress = progress
    }

    /// Runs the expansion and describes the image it made.
    public func run() throws -> ExpandResult {
        try validate()
        let readers = try resolveReaders()
        let packages = try openAndCheckPackages()

        let work = try WorkDirectory(beside: options.output)
        defer { work.remove() }

        let base = options.rootDirectory.isEmpty ? work.tree : work.tree + "/" + options.rootDirectory
        try makeDirectories(base)
        var files = 0
        var bytes: UInt64 = 0
        for (index, package) in packages.enumerated() {
            let destination = base + "/" + package.manifest.identity.fullName
            progress?.begin(step: "unpack", item: package.path, index: index, count: packages.count)
            let result = try package.unpack(into: destination) { done in
                progress?.advance(bytes: done)
            }
            files += result.files
            bytes += result.bytes
        }

        progress?.begin(step: "permissions", item: options.output, index: 0, count: 1)
        let permissions = PackageTreePermissions(readersGroup: readers, makeRootOwner: geteuid() == 0)
        if options.filesystem == .ext4 && geteuid() != 0 {
            throw ExpandError("\(options.output): an ext4 image can only be made root-owned when expanding as root; run as root or use --filesystem erofs")
        }
        try permissions.apply(to: work.tree)

        progress?.begin(step: "filesystem", item: options.output, index: 0, count: 1)
        let fullNames = packages.map(\.manifest.identity.fullName)
        let builder = FilesystemBuilder(kind: options.filesystem, uuid: Self.uuid(for: fullNames, options: options))
        try builder.build(tree: work.tree, output: work.image, minimumSize: partitionSizeRequest())

        progress?.begin(step: "container", item: options.output, index: 0, count: 1)
        let layout: ImageLayout?
        switch options.format {
        case .erofs:
            layout = nil
        case .vhdx, .vhd:
            layout = try DiskImageWriter.wrapFilesystem(
                at: work.image, format: options.format == .vhdx ? .vhdx : .vhd,
                virtualSize: virtualSizeRequest())
        }

        try work.publish(to: options.output)
        progress?.finish()
        let size = try OpenFile.openForReading(options.output).size()
        return ExpandResult(output: options.output, format: options.format, filesystem: options.filesystem,
                            rootDirectory: options.rootDirectory, packages: fullNames, files: files,
                            payloadBytes: bytes, imageBytes: size, layout: layout)
    }

    // MARK: - Steps

    private func validate() throws {
        guard !options.packages.isEmpty else { throw ExpandError("no package given") }
        if options.format == .erofs && options.filesystem != .erofs {
            throw ExpandError("\(options.output): --format erofs holds an EROFS filesystem only; use --format vhdx or vhd for ext4")
        }
        if case .megabytes = options.size, options.format == .erofs {
            throw ExpandError("\(options.output): --size applies to VHD and VHDX images; an EROFS file is always as small as its contents")
        }
        let root = options.rootDirectory
        if root.hasPrefix("/") || root.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) {
            throw ExpandError("--root-directory '\(root)': must be a relative path without '.' or '..'")
        }
        if access(options.output, F_OK) == 0 {
            var st = stat()
            if stat(options.output, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR {
                throw ExpandError("\(options.output): is a directory")
            }
        }
    }

    private func resolveReaders() throws -> gid_t? {
        guard let group = options.readersGroup else { return nil }
        guard let gid = Accounts.groupID(named: group) else {
            throw ExpandError("--readers '\(group)': no such group")
        }
        return gid
    }

    /// Opens every package and checks its structure before anything is written.
    private func openAndCheckPackages() throws -> [MSIXPackage] {
        var packages: [MSIXPackage] = []
        var seen: [String: String] = [:]
        for path in options.packages {
            progress?.begin(step: "verify", item: path, index: packages.count, count: options.packages.count)
            let package = try MSIXPackage.open(path)
            _ = try package.verify(hashes: false)  // block hashes are checked while unpacking
            let name = package.manifest.identity.fullName
            if let other = seen[name.lowercased()] {
                throw ExpandError("\(path): package \(name) is already in this image (from \(other))")
            }
            seen[name.lowercased()] = path
            packages.append(package)
        }
        return packages
    }

    /// `mkdir -p`, for a path below the work directory (absolute or relative).
    private func makeDirectories(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST { throw SystemCallError("mkdir", current) }
        }
    }

    /// The requested disk size minus the GPT area, for ext4 (which fills its partition).
    private func partitionSizeRequest() -> UInt64? {
        guard case .megabytes(let mb) = options.size else { return nil }
        let disk = mb << 20
        let overhead: UInt64 = 2 << 20  // 1 MiB before the partition, backup GPT after it
        return disk > overhead ? disk - overhead : nil
    }

    private func virtualSizeRequest() -> UInt64? {
        guard case .megabytes(let mb) = options.size else { return nil }
        return mb << 20
    }

    /// A UUID derived from the packages and options, so that expanding the same packages the
    /// same way gives a filesystem with the same UUID (and so the same image id on every host).
    static func uuid(for fullNames: [String], options: ExpandOptions) -> String {
        let key = (fullNames + [options.filesystem.rawValue, options.rootDirectory, options.readersGroup ?? ""])
            .joined(separator: "\n")
        var b = Array(SHA256.hash(data: Array(key.utf8)).prefix(16))
        b[6] = (b[6] & 0x0F) | 0x50  // version 5 style (name-based)
        b[8] = (b[8] & 0x3F) | 0x80  // RFC 4122 variant
        let hex = b.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4),
                     hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
        return parts.joined(separator: "-")
    }
}
