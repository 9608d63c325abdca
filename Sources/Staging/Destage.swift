import Glibc
import LinuxSystem

/// Destages an image, or one package of it: unmounts the package bind mounts, then the image,
/// and lets the loop device clear itself. A mount in use is never unmounted lazily: if any
/// process has its working directory, an open file or a mapping in it, destaging is refused,
/// naming those processes, and everything stays staged.
public struct Destage: Sendable {
    public let paths: StagingPaths
    /// How long a destage waits for the staging lock (`StagingLock`) held by another stage,
    /// destage or repair.
    public let lockTimeout: Duration

    public init(paths: StagingPaths = StagingPaths(), lockTimeout: Duration = StagingLock.defaultTimeout) {
        self.paths = paths
        self.lockTimeout = lockTimeout
    }

    /// What was destaged.
    public struct Outcome: Sendable, Equatable {
        /// The image id, if the whole image went.
        public let imageID: String?
        /// Packages unmounted.
        public let packages: [String]
    }

    /// Destages `target`: an image file, an image id, or a PackageFullName.
    ///
    /// Each mount is looked at by its own path (`statx`) and the image's record lists its
    /// packages, so destaging costs the same with one image staged or five hundred; the mount
    /// table is read only when a record was lost. Holds the staging lock throughout.
    public func run(_ target: String) throws -> Outcome {
        guard geteuid() == 0 else { throw StagingError("\(target): destaging needs root") }
        return try StagingLock.holding(paths, timeout: lockTimeout, purpose: "destage \(target)") { try destage(target) }
    }

    private func destage(_ target: String) throws -> Outcome {
        if PackageDiscovery.isValidFullName(target), Mount.isMountPoint(paths.packageMountPoint(target)) {
            return try destagePackage(target)
        }
        let id = try imageID(for: target)
        let mountPoint = paths.imageMountPoint(id)
        guard Mount.isMountPoint(mountPoint) else {
            StagingRecords(paths: paths).remove(id)
            throw StagingError("\(target): not staged")
        }
        let names = packageNames(ofImage: id)
        for name in names {
            try refuseIfBusy(paths.packageMountPoint(name), what: "package \(name)")
        }
        try refuseIfBusy(mountPoint, what: "image \(id)")
        for name in names {
            try Mount.unmount(paths.packageMountPoint(name))
            Stage.removeExposure(name, paths: paths)
        }
        try unmountImage(id: id)
        return Outcome(imageID: id, packages: names)
    }

    /// Unmounts one package, and its image too if it was the image's last package.
    private func destagePackage(_ name: String) throws -> Outcome {
        let mountPoint = paths.packageMountPoint(name)
        let device = Mount.deviceID(of: mountPoint)
        try refuseIfBusy(mountPoint, what: "package \(name)")
        try Mount.unmount(mountPoint)
        Stage.removeExposure(name, paths: paths)
        // The image is the mount under images/ with the same device id as the package's bind mount.
        let ids = (try? DirectoryListing.names(paths.images)) ?? []
        guard let id = ids.first(where: { Mount.isMountPoint(paths.imageMountPoint($0)) && Mount.deviceID(of: paths.imageMountPoint($0)) == device }) else {
            return Outcome(imageID: nil, packages: [name])
        }
        if packageNames(ofImage: id).isEmpty {
            try unmountImage(id: id)
            return Outcome(imageID: id, packages: [name])
        }
        if var record = StagingRecords(paths: paths).load(id) {
            record.packages.removeAll { $0.fullName == name }
            try StagingRecords(paths: paths).save(record)
        }
        return Outcome(imageID: nil, packages: [name])
    }

    /// The packages of image `id` that are mounted now: the package folders of the mounted image
    /// (as staging found them) whose mount point is a bind mount of the image's filesystem.
    /// Looked up path by path, so the cost does not grow with the number of images staged.
    private func packageNames(ofImage id: String) -> [String] {
        let mountPoint = paths.imageMountPoint(id)
        let device = Mount.deviceID(of: mountPoint)
        return PackageDiscovery.packages(in: mountPoint).map { $0.0 }.filter {
            Mount.isMountPoint(paths.packageMountPoint($0)) && Mount.deviceID(of: paths.packageMountPoint($0)) == device
        }
    }

    private func unmountImage(id: String) throws {
        let mountPoint = paths.imageMountPoint(id)
        try refuseIfBusy(mountPoint, what: "image \(id)")
        do {
            try Mount.unmount(mountPoint)
        } catch let error as SystemCallError where error.errno == EBUSY {
            throw StagingError("image \(id) is busy; it stays staged")
        }
        rmdir(mountPoint)
        StagingRecords(paths: paths).remove(id)
    }

    /// Refuses when processes use `mountPoint`, naming them. The kernel answers whether the
    /// mount is busy; only then is `/proc` scanned, to say by whom.
    private func refuseIfBusy(_ mountPoint: String, what: String) throws {
        guard try Mount.isBusy(mountPoint) else { return }
        let users = ProcessScan.users(of: mountPoint)
        if users.isEmpty {
            // Nobody to name: maybe a program this process is starting holds a descriptor of
            // the mount for a moment (see `Mount.staysBusy`); only a lasting busy counts.
            guard try Mount.staysBusy(mountPoint) else { return }
            throw StagingError("\(what) is busy (a mount below it, or a process this host cannot see); it stays staged")
        }
        let list = users.prefix(5).map(\.description).joined(separator: ", ")
        let more = users.count > 5 ? " and \(users.count - 5) more" : ""
        throw StagingError("\(what) is in use by \(list)\(more); it stays staged")
    }

    /// The image id meant by `target`: an id, or the path of a staged image file, whose id is
    /// computed from the file itself; records are searched only when the file cannot be read.
    private func imageID(for target: String) throws -> String {
        if ImageID.isWellFormed(target) { return target }
        let path = (try? Stage.canonical(target)) ?? target
        if let id = StagingRecords(paths: paths).id(ofImageAt: path), Mount.isMountPoint(paths.imageMountPoint(id)) {
            return id
        }
        if let mapping = try? ImageMapping.read(path), let file = try? OpenFile.openForReading(path),
           let id = try? ImageID.compute(file: file, mapping: mapping),
           Mount.isMountPoint(paths.imageMountPoint(id)) || StagingRecords(paths: paths).load(id) != nil {
            return id
        }
        if let record = StagingRecords(paths: paths).all().first(where: { $0.imagePath == path }) { return record.id }
        // No record (lost in a crash) and no readable file: find the image by its loop device.
        let loops = LoopDeviceTable.read().filter { $0.backingFile == path }
        for (id, entry) in StagedMounts(paths: paths).imageMounts where loops.contains(where: { $0.path == entry.source }) || entry.source == path {
            return id
        }
        throw StagingError("\(target): not staged")
    }
}
