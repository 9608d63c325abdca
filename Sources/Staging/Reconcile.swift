import Glibc
import LinuxSystem

/// Brings the kernel's state and the records back together after a crash or a `kill -9`
/// in the middle of a stage or destage:
/// - a loop device tagged as ours that nothing mounts is detached;
/// - a package bind mount whose image is gone is unmounted (if nobody uses it);
/// - an image mounted without its packages exposed gets them (the stage is finished);
/// - an image mounted without a record gets one; a record without a mount is removed;
/// - empty mount-point directories are removed.
///
/// It holds the staging lock (`StagingLock`) throughout, so a stage or destage in progress in
/// any process is never taken for an interrupted one. Only the agent at start and
/// `appattachctl repair` run it; `appattachctl status` only reads.
public struct Reconcile: Sendable {
    public let paths: StagingPaths
    /// How long reconciling waits for the staging lock held by a stage, destage or repair.
    public let lockTimeout: Duration

    public init(paths: StagingPaths = StagingPaths(), lockTimeout: Duration = StagingLock.defaultTimeout) {
        self.paths = paths
        self.lockTimeout = lockTimeout
    }

    /// What reconciling changed, one line per repair (empty when all was consistent).
    @discardableResult
    public func run() throws -> [String] {
        guard geteuid() == 0 else { throw StagingError("repairing staging needs root") }
        return try StagingLock.holding(paths, timeout: lockTimeout, purpose: "repair") { repair() }
    }

    private func repair() -> [String] {
        var repairs: [String] = []
        var mounts = StagedMounts(paths: paths)
        let records = StagingRecords(paths: paths)

        // Package binds left behind by an image that is no longer mounted.
        let imageDevices = Set(mounts.imageMounts.values.map(\.device))
        for package in mounts.packageMounts where !imageDevices.contains(package.device) {
            let name = paths.fullName(ofPackageMountPoint: package.mountPoint) ?? package.mountPoint
            if ProcessScan.users(of: package.mountPoint).isEmpty, (try? Mount.unmount(package.mountPoint)) != nil {
                Stage.removeExposure(name, paths: paths)
                repairs.append("unmounted orphaned package \(name)")
            }
        }
        mounts = StagedMounts(paths: paths)

        // Loop devices of ours that nothing mounts (an attach interrupted before its mount).
        // Loop devices are global to the kernel, but mounts are per mount namespace: a device
        // another namespace (a container, or the host seen from one) attached and mounted looks
        // unmounted from here. Its backing file is then not at its path in this namespace, so a
        // device is only taken for a leftover of ours when its backing file is visible here.
        let mountedSources = Set(mounts.entries.map(\.source))
        // Only devices staged under this runtime directory (`StagingPaths.loopTag`): another
        // tree's stage holds another lock, and its device may be between attach and mount.
        for loop in LoopDeviceTable.read() where paths.ownsLoopTag(loop.tag ?? "") && !mountedSources.contains(loop.path)
            && access(loop.backingFile, F_OK) == 0 {
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
                // A file-backed EROFS mount names its offset in the filesystem's options.
                let offset = loop?.offset ?? entry.superOption("fsoffset").flatMap { UInt64($0) } ?? 0
                // The image itself says the rest (the length, which a file-backed mount does not
                // show), as long as it still maps to where the kernel has it.
                let mapping = (try? ImageMapping.read(path)).flatMap { $0.offset == offset && $0.filesystem == fs ? $0 : nil }
                    ?? ImageMapping(offset: offset, length: loop?.sizeLimit ?? 0, filesystem: fs,
                                    blockSize: nil, isBareFilesystem: loop == nil && offset == 0)
                record = StagedImage(
                    id: id, imagePath: path, mapping: mapping,
                    mountPoint: entry.mountPoint, loopDevice: loop?.path, packages: [])
                repairs.append("recorded image \(id) found mounted without a record")
            }
            let before = mounts.packageMounts(ofImageAt: entry.mountPoint).count
            let known = record!
            // A package exposed here starts closed (0700): the agent opens its gate to the
            // users the host pool assigns; nobody else may enter it meanwhile.
            if let finished = try? Stage(paths: paths, gateMode: 0o700, mapper: { _ in known.mapping }).expose(known) {
                if finished.packages.count > before {
                    repairs.append("exposed \(finished.packages.count - before) package(s) of image \(id)")
                }
            }
        }
        for record in all where mounts.imageMounts[record.id] == nil {
            records.remove(record.id)
            repairs.append("removed the record of image \(record.id), which is not mounted")
        }
        let staleLinks = records.removeStaleIndexEntries()
        if staleLinks > 0 { repairs.append("removed \(staleLinks) path index entr\(staleLinks == 1 ? "y" : "ies") without a record") }

        // Empty directories left by interrupted stages.
        let mounted = Set(StagedMounts(paths: paths).entries.map(\.mountPoint))
        for name in (try? DirectoryListing.names(paths.images)) ?? [] {
            let path = paths.images + "/" + name
            if !mounted.contains(path), rmdir(path) == 0 {
                repairs.append("removed empty mount point \(path)")
            }
        }
        // Gates whose package is not mounted, and published links that lead nowhere.
        for name in (try? DirectoryListing.names(paths.gates)) ?? [] where !mounted.contains(paths.packageMountPoint(name)) {
            Stage.removeExposure(name, paths: paths)
            repairs.append("removed the gate of package \(name), which is not mounted")
        }
        for name in (try? DirectoryListing.names(paths.packages)) ?? [] where !name.hasPrefix(".") && !mounted.contains(paths.packageMountPoint(name)) {
            if unlink(paths.packageLink(name)) == 0 || rmdir(paths.packageLink(name)) == 0 {
                repairs.append("removed the link of package \(name), which is not mounted")
            }
        }
        return repairs
    }
}
