import Glibc
import LinuxSystem

/// Brings the kernel's state and the records back together after a crash or a `kill -9`
/// in the middle of a stage or destage:
/// - a loop device tagged as ours that nothing mounts is detached;
/// - a package bind mount whose image is gone is unmounted (if nobody uses it);
/// - an image mounted without its packages exposed gets them (the stage is finished);
/// - an image mounted without a record gets one; a record without a mount is removed;
/// - empty mount-point directories are removed.
public struct Reconcile: Sendable {
    public let paths: StagingPaths

    public init(paths: StagingPaths = StagingPaths()) { self.paths = paths }

    /// What reconciling changed, one line per repair (empty when all was consistent).
    @discardableResult
    public func run() -> [String] {
        guard geteuid() == 0 else { return [] }
        var repairs: [String] = []
        var mounts = StagedMounts(paths: paths)
        let records = StagingRecords(paths: paths)

        // Package binds left behind by an image that is no longer mounted.
        let imageDevices = Set(mounts.imageMounts.values.map(\.device))
        for package in mounts.packageMounts where !imageDevices.contains(package.device) {
            if ProcessScan.users(of: package.mountPoint).isEmpty, (try? Mount.unmount(package.mountPoint)) != nil {
                rmdir(package.mountPoint)
                repairs.append("unmounted orphaned package \(Destage.name(package.mountPoint))")
            }
        }
        mounts = StagedMounts(paths: paths)

        // Loop devices of ours that nothing mounts (an attach interrupted before its mount).
        let mountedSources = Set(mounts.entries.map(\.source))
        for loop in LoopDeviceTable.read() where (loop.tag ?? "").hasPrefix("appattach:") && !mountedSources.contains(loop.path) {
            let fd = open(loop.path, O_RDONLY | O_CLOEXEC)
            if fd >= 0 {
                _ = LoopDevice.clear(descriptor: fd)
                close(fd)
                repairs.append("detached unused \(loop.path) (\(loop.backingFile))")
            }
        }

        // Images: finish staging (records, package binds); drop records of what is not mounted.
        let all = records.all()
        for (id, entry) in mounts.imageMounts {
            var record = all.first { $0.id == id }
            if record == nil {
                let loop = LoopDeviceTable.read().first { $0.path == entry.source }
                let path = loop?.backingFile ?? entry.source
                let fs = ImageMapping.Filesystem(rawValue: entry.filesystemType) ?? .erofs
                record = StagedImage(
                    id: id, imagePath: path,
                    mapping: ImageMapping(offset: loop?.offset ?? 0, length: loop?.sizeLimit ?? 0, filesystem: fs,
                                          blockSize: nil, isBareFilesystem: loop == nil),
                    mountPoint: entry.mountPoint, loopDevice: loop?.path, packages: [])
                repairs.append("recorded image \(id) found mounted without a record")
            }
            let before = mounts.packageMounts(ofImageAt: entry.mountPoint).count
            let known = record!
            if let finished = try? Stage(paths: paths, mapper: { _ in known.mapping }).expose(known) {
                if finished.packages.count > before {
                    repairs.append("exposed \(finished.packages.count - before) package(s) of image \(id)")
                }
            }
        }
        for record in all where mounts.imageMounts[record.id] == nil {
            records.remove(record.id)
            repairs.append("removed the record of image \(record.id), which is not mounted")
        }

        // Empty directories left by interrupted stages.
        for dir in [paths.images, paths.packages] {
            for name in (try? DirectoryListing.names(dir)) ?? [] {
                let path = dir + "/" + name
                if !StagedMounts(paths: paths).entries.contains(where: { $0.mountPoint == path }), rmdir(path) == 0 {
                    repairs.append("removed empty mount point \(path)")
                }
            }
        }
        return repairs
    }
}
