import Glibc
import LinuxSystem

/// Stages an image: mounts an EROFS filesystem straight from the image file where the kernel
/// can, and otherwise maps the filesystem's bytes with a loop device; mounts it
/// `ro,nosuid,nodev` at `images/<image-id>`, and exposes each package at
/// `packages/<PackageFullName>` with a read-only bind mount inside a gate directory (see
/// `StagingPaths`). Staging an image that is already staged finishes whatever is missing and says so.
public struct Stage: Sendable {
    /// Where mounts and records go.
    public let paths: StagingPaths
    /// Reads an image's container and partition table and says which bytes to map.
    public let mapper: @Sendable (String) throws -> ImageMapping
    /// The mode a new package gate gets. 0755 lets everyone in (an admin staging by hand);
    /// the agent passes 0700 and then opens the gate to the package's assigned users with an
    /// access list, so that there is no moment when anyone else could enter.
    public let gateMode: mode_t
    /// Whether loop devices read their backing file with direct I/O where it is accepted
    /// (the default: the image's pages are cached once, by the mounted filesystem, not a
    /// second time as the backing file's). `APPATTACH_LOOP_DIRECT_IO=0` turns it off.
    public let directIO: Bool
    /// Whether EROFS is mounted from the image file itself, with no loop device, where the
    /// kernel can (the default; see `mountFileBacked`). `APPATTACH_EROFS_FILE_BACKED=0` turns
    /// it off, and every image then gets a loop device.
    public let fileBackedEROFS: Bool
    /// Whether an image file seen before, unchanged, is staged with what was learnt then
    /// (`MappingCache`) instead of reading its container, partition table and superblock again.
    public let remembersMappings: Bool
    /// How long a stage waits for the staging lock (`StagingLock`) while another stage,
    /// destage or repair holds it, before it gives up naming the holder.
    public let lockTimeout: Duration
    /// Whether a package folder may be exposed (see `PackageAdmission`); nil exposes every
    /// folder whose name has the form of a PackageFullName. A refused folder is recorded with
    /// its reason and never mounted; staging the image again does not ask again.
    public let admission: PackageAdmission?

    public init(paths: StagingPaths = StagingPaths(), gateMode: mode_t = 0o755,
                directIO: Bool = Stage.directIOFromEnvironment(),
                fileBackedEROFS: Bool = Stage.fileBackedFromEnvironment(),
                remembersMappings: Bool = true,
                lockTimeout: Duration = StagingLock.defaultTimeout,
                admission: PackageAdmission? = nil,
                mapper: @escaping @Sendable (String) throws -> ImageMapping) {
        self.paths = paths
        self.admission = admission
        self.gateMode = gateMode
        self.directIO = directIO
        self.fileBackedEROFS = fileBackedEROFS
        self.remembersMappings = remembersMappings
        self.lockTimeout = lockTimeout
        self.mapper = mapper
    }

    /// The environment variable that turns direct I/O off (`0`, `no`, `false` or `off`).
    public static let directIOVariable = "APPATTACH_LOOP_DIRECT_IO"
    /// The environment variable that turns file-backed EROFS mounts off (same values).
    public static let fileBackedVariable = "APPATTACH_EROFS_FILE_BACKED"

    /// False when `APPATTACH_LOOP_DIRECT_IO` says so, true otherwise.
    public static func directIOFromEnvironment() -> Bool { switchFromEnvironment(directIOVariable) }

    /// False when `APPATTACH_EROFS_FILE_BACKED` says so, true otherwise.
    public static func fileBackedFromEnvironment() -> Bool { switchFromEnvironment(fileBackedVariable) }

    private static func switchFromEnvironment(_ name: String) -> Bool {
        guard let value = getenv(name) else { return true }
        switch String(cString: value).lowercased() {
        case "0", "no", "false", "off": return false
        default: return true
        }
    }

    /// What staging did.
    public enum Outcome: Sendable, Equatable {
        /// Newly staged.
        case staged(StagedImage)
        /// It was staged already (anything missing, such as a package's bind mount, was completed).
        case alreadyStaged(StagedImage)

        /// The staged image either way.
        public var image: StagedImage {
            switch self { case .staged(let i), .alreadyStaged(let i): i }
        }
    }

    /// Stages the image at `imagePath`, holding the staging lock throughout.
    public func run(_ imagePath: String) throws -> Outcome {
        guard geteuid() == 0 else { throw StagingError("\(imagePath): staging needs root") }
        let path = try Self.canonical(imagePath)
        return try StagingLock.holding(paths, timeout: lockTimeout, purpose: "stage \(path)") {
            try run(path: path, remembered: remembersMappings)
        }
    }

    private func run(path: String, remembered useCache: Bool) throws -> Outcome {
        let file = try OpenFile.openForReading(path)
        let identity = try file.identity()
        let cache = MappingCache(paths: paths)
        let remembered = useCache ? cache.lookup(path, identity: identity) : nil
        let mapping: ImageMapping
        let id: String
        if let remembered {
            (mapping, id) = (remembered.mapping, remembered.id)
        } else {
            mapping = try mapper(path)
            id = try ImageID.compute(file: file, mapping: mapping)
        }
        try Self.makeDirectory(paths.runtime, mode: 0o755)
        try Self.makeDirectory(paths.images, mode: 0o700)
        try Self.makeDirectory(paths.packages, mode: 0o755)
        try Self.makeDirectory(paths.gates, mode: 0o755)
        try Self.makeDirectory(paths.records, mode: 0o700)

        // Asked per path rather than by reading the mount table, so that staging costs the same
        // with one image staged or five hundred.
        let mountPoint = paths.imageMountPoint(id)
        if Mount.isMountPoint(mountPoint) {
            let record = StagingRecords(paths: paths).load(id)
            let loopDevice = record?.loopDevice
                ?? MountTable.source(of: mountPoint).flatMap { $0.hasPrefix("/dev/loop") ? $0 : nil }
            let image = try exposePackages(StagedImage(
                id: id, imagePath: path, mapping: mapping, mountPoint: mountPoint,
                loopDevice: loopDevice, packages: [], refused: record?.refused ?? []))
            return .alreadyStaged(image)
        }

        try Self.makeDirectory(mountPoint, mode: 0o700)
        let loopDevice: String?
        do {
            loopDevice = try mountFilesystem(path: path, file: file, mapping: mapping, at: mountPoint, id: id)
        } catch {
            rmdir(mountPoint)
            if remembered != nil {
                // What was remembered does not mount: forget it and read the image again.
                cache.remove(path)
                return try run(path: path, remembered: false)
            }
            throw error
        }
        if remembered == nil && remembersMappings {
            cache.store(path, .init(identity: identity, mapping: mapping, id: id))
        }
        FaultInjection.pausePoint("stage-after-mount")
        let image = StagedImage(id: id, imagePath: path, mapping: mapping, mountPoint: mountPoint,
                                loopDevice: loopDevice, packages: [])
        do {
            return .staged(try exposePackages(image))
        } catch {
            // Leave nothing half-made: take back the binds made so far and the image mount.
            for entry in StagedMounts(paths: paths).packageMounts(ofImageAt: mountPoint) {
                try? Mount.unmount(entry.mountPoint)
                if let name = paths.fullName(ofPackageMountPoint: entry.mountPoint) { Self.removeExposure(name, paths: paths) }
            }
            try? Mount.unmount(mountPoint)
            rmdir(mountPoint)
            throw error
        }
    }

    /// Mounts the filesystem and returns the loop device used, if any.
    private func mountFilesystem(path: String, file: OpenFile, mapping: ImageMapping, at mountPoint: String, id: String) throws -> String? {
        let fsType = mapping.filesystem.rawValue
        // ext4 images copied while mounted may want journal recovery, which a read-only device
        // cannot do; `noload` mounts them as they are.
        let data: String? = mapping.filesystem == .ext4 ? "noload" : nil
        if fileBackedEROFS && mapping.filesystem == .erofs, try mountFileBacked(path: path, file: file, mapping: mapping, at: mountPoint) {
            return nil
        }
        let useDirectIO = directIO && (mapping.blockSize ?? 0) >= 4096 && mapping.offset % 4096 == 0
        let device = try LoopDevice.attach(backingFile: path, .init(
            offset: mapping.offset, sizeLimit: mapping.length, directIO: useDirectIO,
            blockSize: useDirectIO ? 4096 : 0, tag: paths.loopTag(id)))
        FaultInjection.pausePoint("stage-after-attach")
        if device.directIO && mapping.filesystem == .ext4 {
            // ext4's mount reads the superblock, the group descriptors and then the inode table
            // one block at a time, each from the disk on a direct-I/O device: ask for the start
            // of the filesystem in one go first (0.3–0.5 ms less per stage, measured). EROFS
            // reads one or two blocks; it gains nothing.
            device.prefetch(count: 128 << 10)
        }
        do {
            try Mount.mountReadOnly(source: device.path, target: mountPoint, type: fsType, data: data)
        } catch {
            device.detach()
            throw StagingError("\(path): cannot mount the \(fsType) filesystem at byte \(mapping.offset): \(error)")
        }
        device.relinquish()
        return device.path
    }

    /// Mounts an EROFS filesystem straight from the image file, with no loop device: the
    /// kernel's file-backed EROFS mount (6.12+), at the filesystem's offset inside a VHD/VHDX
    /// or partition table with `fsoffset=` (6.16+), reading the file with direct I/O
    /// (`directio`) when `directIO` is on, so that its pages are cached once, by EROFS. Returns
    /// false when this kernel cannot (`ENOTBLK`, or `EINVAL` for an option it does not know),
    /// and the caller then uses a loop device; any other error is the mount's own.
    ///
    /// A loop device limits reads to the filesystem's byte range; here the bound is EROFS's
    /// own, within the same image file, so a damaged filesystem can reach no other file.
    private func mountFileBacked(path: String, file: OpenFile, mapping: ImageMapping, at mountPoint: String) throws -> Bool {
        let blockSize = UInt64(mapping.blockSize ?? 0)
        guard mapping.offset == 0 || (blockSize > 0 && mapping.offset % blockSize == 0) else { return false }
        // EROFS reads its metadata (superblock, inodes, directories) through the image file's
        // page cache even with `directio`, one block at a time as the mount and the package
        // search need it: ask for the start of the filesystem, where mkfs.erofs puts them, in
        // one go first.
        file.willNeed(count: min(mapping.length, Self.metadataPrefetch), at: mapping.offset)
        var attempts: [[String]] = []
        let offset = mapping.offset > 0 ? ["fsoffset=\(mapping.offset)"] : []
        if directIO { attempts.append(offset + ["directio"]) }
        // `directio` came after file-backed mounts (6.13): a 6.12 kernel refuses it but mounts
        // a bare file without it. `fsoffset` came later still, so it needs no such retry.
        if !directIO || mapping.offset == 0 { attempts.append(offset) }
        // A kernel without file-backed EROFS (before 6.12, or built without it) refuses the
        // mount; tests stand in for one with `APPATTACH_REFUSE_AT=erofs-file-mount`.
        if FaultInjection.refuses("erofs-file-mount") { return false }
        for options in attempts {
            do {
                try Mount.mountReadOnly(source: path, target: mountPoint, type: "erofs",
                                        data: options.isEmpty ? nil : options.joined(separator: ","))
                return true
            } catch let error as SystemCallError where error.errno == ENOTBLK || error.errno == EINVAL {
                continue
            }
        }
        return false
    }

    /// How much of the start of a filesystem is asked for before it is mounted.
    static let metadataPrefetch: UInt64 = 128 << 10

    /// Bind-mounts every package of the mounted image that is not exposed yet (nor refused in
    /// `image`), and writes the record.
    func expose(_ image: StagedImage) throws -> StagedImage {
        var image = image
        image.packages = []
        return try exposePackages(image)
    }

    private func exposePackages(_ image: StagedImage) throws -> StagedImage {
        var image = image
        let imageDevice = Mount.deviceID(of: image.mountPoint)
        let refusedBefore = Set(image.refused.map(\.fullName))
        for (fullName, source) in PackageDiscovery.packages(in: image.mountPoint) {
            let target = paths.packageMountPoint(fullName)
            if refusedBefore.contains(fullName) && !Mount.isMountPoint(target) { continue }
            if Mount.isMountPoint(target) {
                // A bind mount of this image's filesystem has the image's device id.
                guard Mount.deviceID(of: target) == imageDevice else {
                    throw StagingError("\(image.imagePath): package \(fullName) is already staged from another image")
                }
            } else {
                if let reason = admission?(image.id, fullName, source) {
                    image.refused.append(RefusedPackage(fullName: fullName, reason: reason))
                    continue
                }
                let gate = paths.gate(fullName)
                if mkdir(gate, gateMode) != 0 {
                    guard errno == EEXIST else { throw SystemCallError("mkdir", gate) }
                } else if chmod(gate, gateMode) != 0 {
                    // mkdir applied the umask; the gate's mode is a security decision, so it is set exactly.
                    throw SystemCallError("chmod", gate)
                }
                try Self.makeDirectory(target, mode: 0o755)
                do {
                    try Mount.bindReadOnly(source: source, target: target)
                } catch {
                    Self.removeExposure(fullName, paths: paths)
                    throw error
                }
            }
            try publish(fullName)
            image.packages.append(StagedPackage(fullName: fullName, source: source, mountPoint: target))
        }
        try StagingRecords(paths: paths).save(image)
        return image
    }

    /// Makes `packages/<fullName>` a link to the package's mount point: to a temporary name,
    /// then renamed over, so the published name never points at nothing or at an old target.
    private func publish(_ fullName: String) throws {
        let link = paths.packageLink(fullName)
        let target = StagingPaths.packageLinkTarget(fullName)
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(link, &buffer, buffer.count - 1)
        if n > 0, String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) == target { return }
        let temporary = paths.packages + "/." + fullName + ".link"
        unlink(temporary)
        guard symlink(target, temporary) == 0 else { throw SystemCallError("symlink", temporary) }
        guard rename(temporary, link) == 0 else {
            let error = SystemCallError("rename", link)
            unlink(temporary)
            throw error
        }
    }

    /// Removes what exposed a package once its mount is gone: the published link, the mount
    /// point and the gate. Each step may already be done (an interrupted destage).
    static func removeExposure(_ fullName: String, paths: StagingPaths) {
        unlink(paths.packageLink(fullName))
        rmdir(paths.packageMountPoint(fullName))
        rmdir(paths.gate(fullName))
    }

    static func canonical(_ path: String) throws -> String {
        guard let resolved = realpath(path, nil) else {
            throw StagingError("\(path): \(String(cString: strerror(errno)))")
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func makeDirectory(_ path: String, mode: mode_t) throws {
        if mkdir(path, mode) != 0 && errno != EEXIST { throw SystemCallError("mkdir", path) }
    }
}
