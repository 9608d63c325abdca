/// What `appattachctl inspect` shows about a package: identity and names, display
/// properties, target device families, dependencies, applications with their extensions,
/// signature presence, and file counts and sizes. `Codable` for `--json`; `text` for people.
public struct PackageReport: Codable, Sendable, Equatable {
    public var path: String
    public var identity: PackageIdentity
    public var publisherId: String
    public var familyName: String
    public var fullName: String
    public var displayName: String
    public var publisherDisplayName: String
    public var description: String?
    public var logo: String
    public var targetDeviceFamilies: [AppxManifest.TargetDeviceFamily]
    public var packageDependencies: [AppxManifest.PackageDependency]
    public var applications: [ApplicationReport]
    public var signaturePresent: Bool
    /// Files listed in the block map: the payload plus AppxManifest.xml.
    public var fileCount: Int
    /// Every ZIP entry, footprint files included.
    public var partCount: Int
    public var uncompressedBytes: UInt64
    public var compressedBytes: UInt64
    /// Size of the package file.
    public var packageBytes: UInt64

    /// One application and the id that addresses it (`PackageFamilyName!AppId`).
    public struct ApplicationReport: Codable, Sendable, Equatable {
        public var appUserModelId: String
        public var application: AppxManifest.Application
    }

    /// Summarises an opened package (no payload is read).
    public init(package: MSIXPackage) {
        let manifest = package.manifest
        path = package.path
        identity = manifest.identity
        publisherId = manifest.identity.publisherId
        familyName = manifest.identity.familyName
        fullName = manifest.identity.fullName
        displayName = manifest.properties.displayName
        publisherDisplayName = manifest.properties.publisherDisplayName
        description = manifest.properties.description
        logo = manifest.properties.logo
        targetDeviceFamilies = manifest.targetDeviceFamilies
        packageDependencies = manifest.packageDependencies
        applications = manifest.applications.map {
            ApplicationReport(appUserModelId: "\(manifest.identity.familyName)!\($0.id)", application: $0)
        }
        signaturePresent = package.signature != nil
        fileCount = package.blockMap.files.count
        partCount = package.parts.count
        uncompressedBytes = package.parts.reduce(0) { $0 + $1.entry.uncompressedSize }
        compressedBytes = package.parts.reduce(0) { $0 + $1.entry.compressedSize }
        packageBytes = package.zip.fileSize
    }
}
