import GRDB

/// A row of `packages`: a package exposed from a staged image.
public struct PackageRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "packages"

    /// `Name_Version_Arch_ResourceId_PublisherId`.
    public var fullName: String
    /// `Name_PublisherId`.
    public var familyName: String
    /// The image it comes from.
    public var imageID: String
    /// Where it is exposed (`/run/appattach/packages/<PackageFullName>`).
    public var mountPoint: String

    public init(fullName: String, familyName: String, imageID: String, mountPoint: String) {
        self.fullName = fullName
        self.familyName = familyName
        self.imageID = imageID
        self.mountPoint = mountPoint
    }

    enum CodingKeys: String, CodingKey {
        case fullName = "full_name", familyName = "family_name", imageID = "image_id", mountPoint = "mount_point"
    }

    /// Typed columns for queries.
    public enum Columns {
        public static let fullName = Column(CodingKeys.fullName)
        public static let familyName = Column(CodingKeys.familyName)
        public static let imageID = Column(CodingKeys.imageID)
    }

    public static let image = belongsTo(ImageRecord.self, using: ForeignKey(["image_id"]))
    public static let registrations = hasMany(RegistrationRecord.self, using: ForeignKey(["package_full_name"]))
}

extension DerivableRequest<PackageRecord> {
    /// The packages of image `id`.
    public func filter(imageID id: String) -> Self {
        filter(PackageRecord.Columns.imageID == id)
    }

    /// The staged versions of family `familyName`.
    public func filter(familyName: String) -> Self {
        filter(PackageRecord.Columns.familyName == familyName)
    }
}
