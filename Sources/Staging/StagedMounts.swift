import LinuxSystem

/// The kernel's view of what appattach has mounted: image mounts under `images/`, package
/// bind mounts under `packages/`, and which packages belong to which image (same device).
struct StagedMounts {
    let paths: StagingPaths
    let entries: [MountEntry]

    init(paths: StagingPaths, entries: [MountEntry]? = nil) {
        self.paths = paths
        self.entries = entries ?? ((try? MountTable.read()) ?? [])
    }

    /// Mounts directly under `images/`, keyed by image id.
    var imageMounts: [String: MountEntry] {
        var result: [String: MountEntry] = [:]
        for entry in entries where Self.parent(of: entry.mountPoint) == paths.images {
            result[String(entry.mountPoint.dropFirst(paths.images.count + 1))] = entry
        }
        return result
    }

    /// Package mounts: `gates/<PackageFullName>/package`.
    var packageMounts: [MountEntry] {
        entries.filter { paths.fullName(ofPackageMountPoint: $0.mountPoint) != nil }
    }

    /// The package bind mounts made from the image mounted at `imageMountPoint`.
    func packageMounts(ofImageAt imageMountPoint: String) -> [MountEntry] {
        guard let image = entries.last(where: { $0.mountPoint == imageMountPoint }) else { return [] }
        return packageMounts.filter { $0.device == image.device }
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }
}
