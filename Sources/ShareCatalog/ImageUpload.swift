import DiskImage
import Foundation
import Glibc
import HostPool
import LinuxSystem

/// What an upload did.
public enum UploadOutcome: String, Codable, Sendable {
    /// The image is new on the share.
    case uploaded
    /// It replaced different bytes under the same name (`replace` was given).
    case replaced
    /// The share already had these exact bytes under this name: nothing was written.
    case unchanged
}

/// The result of `ImageUpload.run`: what happened and the image's catalog entry.
public struct UploadResult: Codable, Sendable, Equatable {
    public var outcome: UploadOutcome
    public var entry: CatalogEntry

    public init(outcome: UploadOutcome, entry: CatalogEntry) {
        self.outcome = outcome
        self.entry = entry
    }

    /// One line for the terminal.
    public var text: String {
        let facts = "\(entry.size) bytes, \(entry.container.rawValue), \(entry.filesystem.rawValue), sha256 \(entry.sha256)"
        switch outcome {
        case .uploaded: return "uploaded \(entry.path) (\(facts))"
        case .replaced: return "replaced \(entry.path) (\(facts))"
        case .unchanged: return "\(entry.path) is already on the share with the same content (\(facts)): nothing to do"
        }
    }
}

/// Uploads an image to the share: checks it can be staged, copies it into `images/` under a
/// temporary name, fsyncs it and renames it into place, and records it in `catalog.json`.
///
/// The rename and the catalog update happen together under the catalog lock, so two uploaders
/// (on one machine or several) never lose each other's entries, and the entry for a name
/// always describes the file under that name. Nothing is left behind when anything fails.
public struct ImageUpload: Sendable {
    public var share: ShareLayout
    /// Recorded as `uploaded_by`.
    public var host: String
    /// Overwrite an image of the same name with different bytes. Off by default: hosts may
    /// have the old image staged, and a new version belongs under a new name (side by side).
    public var replace: Bool
    public var lockTimeout: Duration
    public var staleLockAfter: Duration
    /// The clock for `uploaded_at`.
    public var now: @Sendable () -> Date

    public init(share: String, host: String = ImageUpload.hostName(), replace: Bool = false,
                lockTimeout: Duration = .seconds(60), staleLockAfter: Duration = .seconds(30),
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.share = ShareLayout(root: share)
        self.host = host
        self.replace = replace
        self.lockTimeout = lockTimeout
        self.staleLockAfter = staleLockAfter
        self.now = now
    }

    /// Filesystems a host can mount from an image (what staging accepts).
    public static let stageableFilesystems: Set<FilesystemKind> = [.erofs, .ext4, .squashfs]

    /// Uploads the image at `source` as `images/<name>` (default: the source's file name),
    /// declaring the PackageFullNames in `packages`.
    public func run(_ source: String, name: String? = nil, packages: [String] = []) throws -> UploadResult {
        let name = name ?? (source as NSString).lastPathComponent
        if let problem = ShareLayout.imageNameProblem(name) { throw ShareCatalogError(name, "image name \(problem)") }
        for package in packages where PackageReference(package)?.fullName == nil {
            throw ShareCatalogError(package, "is not a PackageFullName (Name_Version_Arch_ResourceId_PublisherId)")
        }
        let layout = try Self.checkStageable(source)
        try prepareShare()

        let file = try OpenFile.openForReading(source)
        let before = try file.status()
        let size = UInt64(before.st_size)
        let digest = try ImageDigest.sha256(of: file, size: size)
        let entry = CatalogEntry(name: name, sha256: digest, size: size, container: layout.container,
                                 filesystem: layout.filesystem, packages: packages.sorted(), uploadedAt: now(), uploadedBy: host)

        // A cheap early answer without the lock; it is checked again under the lock.
        if case .same(let existing) = try compare(entry, with: Catalog.load(path: share.catalog)) {
            return UploadResult(outcome: .unchanged, entry: existing)
        }

        // The slow part, outside the lock: other uploaders only wait for the rename.
        let output = try AtomicOutput(finalPath: share.imagePath(name), mode: 0o644)
        try file.copyContents(to: output.file, count: size)
        let after = try file.status()
        guard after.st_size == before.st_size, after.st_mtim.tv_sec == before.st_mtim.tv_sec,
              after.st_mtim.tv_nsec == before.st_mtim.tv_nsec else {
            throw ShareCatalogError(source, "changed while it was being uploaded; upload it again once it is complete")
        }
        guard try output.file.size() == size else {
            throw ShareCatalogError(output.temporaryPath, "is not the size of \(source) after copying")
        }

        let lock = try CatalogLock.acquire(path: share.lock, owner: host, timeout: lockTimeout, staleAfter: staleLockAfter)
        defer { lock.release() }
        var catalog = try Catalog.load(path: share.catalog)
        let existing = try compare(entry, with: catalog)
        // Another uploader put the same bytes there meanwhile; `output` removes our copy.
        if case .same(let entry) = existing { return UploadResult(outcome: .unchanged, entry: entry) }
        try output.commit()
        catalog.insert(entry)
        try AtomicOutput.write(try catalog.encoded(), to: share.catalog, mode: 0o644)
        return UploadResult(outcome: existing == .different ? .replaced : .uploaded, entry: entry)
    }

    /// What the share already has under the name of `entry`.
    private enum Existing: Equatable {
        case none
        case same(CatalogEntry)
        case different
    }

    /// Compares `entry` with what the share has under its name. Throws when that is different
    /// bytes and `replace` is off.
    private func compare(_ entry: CatalogEntry, with catalog: Catalog) throws -> Existing {
        var st = stat()
        let present = stat(share.imagePath(entry.name), &st) == 0
        guard let recorded = catalog.entry(named: entry.name) else {
            // A file without an entry was put there by hand, or its upload died between the
            // rename and the catalog update: its content is unknown, so ask before replacing.
            if present && !replace {
                throw ShareCatalogError(entry.path, "exists on the share but is not in the catalog; pass --replace to overwrite it")
            }
            return present ? .different : .none
        }
        // The catalog is only a record: trust it when the file is really there.
        if recorded.sha256 == entry.sha256 && recorded.size == entry.size && present && UInt64(st.st_size) == entry.size {
            return .same(recorded)
        }
        guard replace || !present else {
            let when = ISO8601DateFormatter().string(from: recorded.uploadedAt)
            throw ShareCatalogError(entry.path, "already holds a different image (sha256 \(recorded.sha256), uploaded \(when) by \(recorded.uploadedBy)); upload the new version under another name, or pass --replace")
        }
        return present ? .different : .none
    }

    /// Refuses images a host could not stage: corrupt ones (`inspect` throws), ones that one
    /// loop device cannot map, and ones without a filesystem the kernel mounts for us.
    static func checkStageable(_ source: String) throws -> ImageLayout {
        let layout = try DiskImageReader.inspect(source)
        if layout.mapping == nil {
            throw ShareCatalogError(source, "cannot be staged: \(layout.unmappableReason ?? "its filesystem cannot be mapped by one loop device")")
        }
        guard stageableFilesystems.contains(layout.filesystem) else {
            let accepted = stageableFilesystems.map(\.rawValue).sorted().joined(separator: ", ")
            throw ShareCatalogError(source, "cannot be staged: found \(layout.filesystem == .unknown ? "no known filesystem" : "a \(layout.filesystem.rawValue) filesystem"), hosts mount \(accepted)")
        }
        return layout
    }

    /// Checks the share is there and creates `images/` on first use.
    private func prepareShare() throws {
        var st = stat()
        guard stat(share.root, &st) == 0 else { throw SystemCallError("stat", share.root) }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw ShareCatalogError(share.root, "is not a directory") }
        if mkdir(share.imagesDirectory, 0o755) != 0 && errno != EEXIST {
            throw SystemCallError("mkdir", share.imagesDirectory)
        }
    }

    /// This machine's host name (`gethostname`).
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
