/// A staged image as recorded in `staged/<image-id>.json` and reported by `status`.
public struct StagedImage: Sendable, Equatable, Codable {
    /// Stable id derived from the image's bytes: the same image has the same id on every host.
    public var id: String
    /// The image file (on the share), as staged.
    public var imagePath: String
    /// The bytes of the image that hold the filesystem, and its type.
    public var mapping: ImageMapping
    /// Where the image's filesystem is mounted.
    public var mountPoint: String
    /// `/dev/loopN`, or nil for a file-backed EROFS mount (no loop device at all).
    public var loopDevice: String?
    /// The packages found in the image, exposed under the packages directory.
    public var packages: [StagedPackage]

    public init(id: String, imagePath: String, mapping: ImageMapping, mountPoint: String,
                loopDevice: String?, packages: [StagedPackage]) {
        self.id = id
        self.imagePath = imagePath
        self.mapping = mapping
        self.mountPoint = mountPoint
        self.loopDevice = loopDevice
        self.packages = packages
    }
}

/// One package of a staged image.
public struct StagedPackage: Sendable, Equatable, Codable {
    /// PackageFullName: the folder name in the image.
    public var fullName: String
    /// The folder inside the image mount.
    public var source: String
    /// Where it is exposed: `/run/appattach/packages/<PackageFullName>`.
    public var mountPoint: String

    public init(fullName: String, source: String, mountPoint: String) {
        self.fullName = fullName
        self.source = source
        self.mountPoint = mountPoint
    }
}
