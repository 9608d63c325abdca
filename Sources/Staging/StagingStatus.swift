import LinuxSystem

/// What is staged on this host, read from the kernel (mountinfo, with a file-backed EROFS
/// mount's offset and direct I/O in its options, and the loop devices in sysfs)
/// and completed with the records for what the kernel does not know (which image file an EROFS
/// file mount came from is in mountinfo; the share path behind a loop device is in sysfs).
public struct StagingStatus: Sendable, Codable, Equatable {
    /// One staged image.
    public struct Image: Sendable, Codable, Equatable {
        public var id: String
        public var imagePath: String?
        public var mountPoint: String
        public var filesystem: String
        public var loopDevice: String?
        public var backingFile: String?
        public var offset: UInt64?
        public var size: UInt64?
        public var directIO: Bool?
        public var packages: [Package]
    }

    /// One exposed package.
    public struct Package: Sendable, Codable, Equatable {
        public var fullName: String
        public var mountPoint: String
    }

    public var images: [Image]

    /// Reads the current state.
    public static func read(paths: StagingPaths = StagingPaths()) -> StagingStatus {
        let mounts = StagedMounts(paths: paths)
        let loops = LoopDeviceTable.read()
        let records = StagingRecords(paths: paths).all()
        var images: [Image] = []
        for (id, entry) in mounts.imageMounts.sorted(by: { $0.key < $1.key }) {
            let loop = loops.first { $0.path == entry.source }
            let record = records.first { $0.id == id }
            let packages = mounts.packageMounts(ofImageAt: entry.mountPoint).map {
                Package(fullName: paths.fullName(ofPackageMountPoint: $0.mountPoint) ?? $0.mountPoint,
                        mountPoint: paths.packageLink(paths.fullName(ofPackageMountPoint: $0.mountPoint) ?? ""))
            }.sorted { $0.fullName < $1.fullName }
            images.append(Image(
                id: id, imagePath: record?.imagePath ?? loop?.backingFile ?? (entry.source.hasPrefix("/") ? entry.source : nil),
                mountPoint: entry.mountPoint, filesystem: entry.filesystemType,
                loopDevice: loop?.path, backingFile: loop?.backingFile ?? (loop == nil ? entry.source : nil),
                offset: loop?.offset ?? entry.superOption("fsoffset").flatMap { UInt64($0) } ?? record?.mapping.offset,
                size: loop?.sizeLimit ?? record?.mapping.length,
                directIO: loop?.directIO ?? entry.superOptions.contains("directio"), packages: packages))
        }
        return StagingStatus(images: images)
    }

    /// A table for people.
    public var text: String {
        if images.isEmpty { return "No images staged." }
        var lines: [String] = []
        for image in images {
            lines.append("image \(image.id)  \(image.imagePath ?? "?")")
            let device = (image.loopDevice.map { "\($0)" } ?? "the image file, no loop device") + (image.directIO == true ? " (direct I/O)" : "")
            lines.append("  mounted at \(image.mountPoint) (\(image.filesystem), ro) from \(device)")
            if let offset = image.offset, let size = image.size {
                lines.append("  maps bytes \(offset)…\(offset + size) (\(size / 1_048_576) MiB)")
            }
            for package in image.packages {
                lines.append("  package \(package.fullName) at \(package.mountPoint)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
