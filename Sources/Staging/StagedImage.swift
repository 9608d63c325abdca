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
    /// Package folders found in the image and not exposed, each with the reason (a folder
    /// whose name is not its manifest's identity, a manifest that breaks the schema).
    public var refused: [RefusedPackage]

    public init(id: String, imagePath: String, mapping: ImageMapping, mountPoint: String,
                loopDevice: String?, packages: [StagedPackage], refused: [RefusedPackage] = []) {
        self.id = id
        self.imagePath = imagePath
        self.mapping = mapping
        self.mountPoint = mountPoint
        self.loopDevice = loopDevice
        self.packages = packages
        self.refused = refused
    }

    private enum CodingKeys: String, CodingKey {
        case id, imagePath, mapping, mountPoint, loopDevice, packages, refused
    }

    /// Records written before `refused` existed read as refusing nothing.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        imagePath = try container.decode(String.self, forKey: .imagePath)
        mapping = try container.decode(ImageMapping.self, forKey: .mapping)
        mountPoint = try container.decode(String.self, forKey: .mountPoint)
        loopDevice = try container.decodeIfPresent(String.self, forKey: .loopDevice)
        packages = try container.decode([StagedPackage].self, forKey: .packages)
        refused = try container.decodeIfPresent([RefusedPackage].self, forKey: .refused) ?? []
    }
}

/// A package folder of an image that staging did not expose, and why.
public struct RefusedPackage: Sendable, Equatable, Codable {
    /// The folder's name, which claims to be a PackageFullName.
    public var fullName: String
    /// Why it is not exposed, one line.
    public var reason: String

    public init(fullName: String, reason: String) {
        self.fullName = fullName
        self.reason = reason
    }
}

/// Decides whether a package folder found in an image may be exposed: given the image's id, the
/// folder's name (the PackageFullName it claims) and its path inside the mounted image,
/// returns why not, or nil to expose it. The agent checks that the folder's manifest is valid and names the same
/// PackageFullName (`Stage.admission`).
public typealias PackageAdmission = @Sendable (_ imageID: String, _ fullName: String, _ folder: String) -> String?

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
