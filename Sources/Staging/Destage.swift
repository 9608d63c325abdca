import Glibc
import LinuxSystem

/// Destages an image, or one package of it: unmounts the package bind mounts, then the image,
/// and lets the loop device clear itself. A mount in use is never unmounted lazily: if any
/// process has its working directory, an open file or a mapping in it, destaging is refused,
/// naming those processes, and everything stays staged.
public struct Destage: Sendable {
    public let paths: StagingPaths

    public init(paths: StagingPaths = StagingPaths()) { self.paths = paths }

    /// What was destaged.
    public struct Outcome: Sendable, Equatable {
        /// The image id, if the whole image went.
        public let imageID: String?
        /// Packages unmounted.
        public let packages: [String]
    }

    /// Destages `target`: an image file, an image id, or a PackageFullName.
    public func run(_ target: String) throws -> Outcome {
        guard geteuid() == 0 else { throw StagingError("\(target): destaging needs root") }
        let mounts = StagedMounts(paths: paths)
        let records = StagingRecords(paths: paths).all()

        // A package of a staged image: unmount it, and the image too if it was the last one.
        if let package = mounts.packageMounts.first(where: { $0.mountPoint == paths.packageMountPoint(target) }) {
            try refuseIfBusy(package.mountPoint, what: "package \(target)")
            try Mount.unmount(package.mountPoint)
            Stage.removeExposure(target, paths: paths)
            guard let (id, image) = mounts.imageMounts.first(where: { $0.value.device == package.device }) else {
                return Outcome(imageID: nil, packages: [target])
            }
            let remaining = StagedMounts(paths: paths).packageMounts(ofImageAt: image.mountPoint)
            if remaining.isEmpty {
                try unmountImage(id: id)
                return Outcome(imageID: id, packages: [target])
            }
            if var record = records.first(where: { $0.id == id }) {
                record.packages.removeAll { $0.fullName == target }
                try StagingRecords(paths: paths).save(record)
            }
            return Outcome(imageID: nil, packages: [target])
        }

        let id = try imageID(for: target, records: records, mounts: mounts)
        guard let image = mounts.imageMounts[id] else {
            StagingRecords(paths: paths).remove(id)
            throw StagingError("\(target): not staged")
        }
        let packages = mounts.packageMounts(ofImageAt: image.mountPoint)
        let names = packages.map { paths.fullName(ofPackageMountPoint: $0.mountPoint) ?? $0.mountPoint }
        for (package, name) in zip(packages, names) {
            try refuseIfBusy(package.mountPoint, what: "package \(name)")
        }
        try refuseIfBusy(image.mountPoint, what: "image \(id)")
        for (package, name) in zip(packages, names) {
            try Mount.unmount(package.mountPoint)
            Stage.removeExposure(name, paths: paths)
        }
        try unmountImage(id: id)
        return Outcome(imageID: id, packages: names)
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
        guard !users.isEmpty else { throw StagingError("\(what) is busy (a mount below it, or a process this host cannot see); it stays staged") }
        let list = users.prefix(5).map(\.description).joined(separator: ", ")
        let more = users.count > 5 ? " and \(users.count - 5) more" : ""
        throw StagingError("\(what) is in use by \(list)\(more); it stays staged")
    }

    /// The image id meant by `target`: an id, or the path of a staged image file.
    private func imageID(for target: String, records: [StagedImage], mounts: StagedMounts) throws -> String {
        if ImageID.isWellFormed(target) { return target }
        let path = (try? Stage.canonical(target)) ?? target
        if let record = records.first(where: { $0.imagePath == path }) { return record.id }
        // No record (lost in a crash): find the image's loop device by its backing file.
        let loops = LoopDeviceTable.read().filter { $0.backingFile == path }
        for (id, entry) in mounts.imageMounts where loops.contains(where: { $0.path == entry.source }) || entry.source == path {
            return id
        }
        throw StagingError("\(target): not staged")
    }
}
