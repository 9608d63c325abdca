/// What AppxManifest.xml says about a package: identity, display properties, target device
/// families, dependencies, and applications with the extensions that registration needs.
///
/// Elements are matched by local name, so `uap:VisualElements` and `uap3:FileTypeAssociation`
/// are found whatever prefix or schema version the manifest uses.
public struct AppxManifest: Codable, Sendable, Equatable {
    /// `<Identity>`.
    public var identity: PackageIdentity
    /// `<Properties>`.
    public var properties: Properties
    /// `<Dependencies><TargetDeviceFamily>`: where the package may run; `Linux.All` marks a Linux package.
    public var targetDeviceFamilies: [TargetDeviceFamily]
    /// `<Dependencies><PackageDependency>`: framework packages this one needs.
    public var packageDependencies: [PackageDependency]
    /// `<Applications><Application>`.
    public var applications: [Application]

    /// `<Properties>` of a package.
    public struct Properties: Codable, Sendable, Equatable {
        public var displayName: String
        public var publisherDisplayName: String
        public var description: String?
        /// Path inside the package, as written (Windows separators).
        public var logo: String
        public init(displayName: String, publisherDisplayName: String, description: String? = nil, logo: String) {
            self.displayName = displayName
            self.publisherDisplayName = publisherDisplayName
            self.description = description
            self.logo = logo
        }
    }

    /// `<TargetDeviceFamily Name MinVersion MaxVersionTested>`.
    public struct TargetDeviceFamily: Codable, Sendable, Equatable {
        public var name: String
        public var minVersion: String
        public var maxVersionTested: String?
        public init(name: String, minVersion: String, maxVersionTested: String? = nil) {
            self.name = name
            self.minVersion = minVersion
            self.maxVersionTested = maxVersionTested
        }
    }

    /// `<PackageDependency Name Publisher MinVersion>`.
    public struct PackageDependency: Codable, Sendable, Equatable {
        public var name: String
        public var publisher: String?
        public var minVersion: String?
    }

    /// `<Application>` and its `<VisualElements>`.
    public struct Application: Codable, Sendable, Equatable {
        /// `Id`: the app's name within the package; `PackageFamilyName!Id` addresses it.
        public var id: String
        /// Path inside the package of the program to run.
        public var executable: String?
        public var entryPoint: String?
        public var displayName: String?
        public var description: String?
        public var square150x150Logo: String?
        public var square44x44Logo: String?
        /// What registration acts on.
        public var extensions: ApplicationExtensions
        /// freedesktop menu categories (`appattach:DesktopEntry Categories`), for Linux packages.
        public var desktopCategories: [String]
    }

    /// Parses AppxManifest.xml and checks it against the schema's rules (`ManifestRules`). The
    /// error is `.invalidManifest` or `.invalidIdentity`, without a file name.
    public static func parse(_ bytes: [UInt8]) throws(MSIXError) -> AppxManifest {
        let root: XMLElementNode
        do { root = try XMLElementNode.parse(bytes) } catch { throw MSIXError(.invalidManifest, "AppxManifest.xml is \(error.message)") }
        guard root.name == "Package" else {
            throw MSIXError(.invalidManifest, "AppxManifest.xml has root element <\(root.name)>, not <Package>")
        }
        guard let identityNode = root.child("Identity") else { throw MSIXError(.invalidManifest, "AppxManifest.xml has no <Identity>") }
        guard let name = identityNode.attribute("Name"), let publisher = identityNode.attribute("Publisher"),
              let version = identityNode.attribute("Version") else {
            throw MSIXError(.invalidManifest, "AppxManifest.xml <Identity> needs Name, Publisher and Version")
        }
        let identity = PackageIdentity(name: name, publisher: publisher, version: version,
                                       processorArchitecture: identityNode.attribute("ProcessorArchitecture") ?? "neutral",
                                       resourceId: identityNode.attribute("ResourceId") ?? "")
        try identity.validate()
        guard let propertiesNode = root.child("Properties") else { throw MSIXError(.invalidManifest, "AppxManifest.xml has no <Properties>") }
        let properties = Properties(displayName: propertiesNode.childText("DisplayName") ?? "",
                                    publisherDisplayName: propertiesNode.childText("PublisherDisplayName") ?? "",
                                    description: propertiesNode.childText("Description"),
                                    logo: propertiesNode.childText("Logo") ?? "")
        let dependencies = root.child("Dependencies")
        let families = (dependencies?.children("TargetDeviceFamily") ?? []).map {
            TargetDeviceFamily(name: $0.attribute("Name") ?? "", minVersion: $0.attribute("MinVersion") ?? "",
                               maxVersionTested: $0.attribute("MaxVersionTested"))
        }
        let packageDependencies = (dependencies?.children("PackageDependency") ?? []).map {
            PackageDependency(name: $0.attribute("Name") ?? "", publisher: $0.attribute("Publisher"),
                              minVersion: $0.attribute("MinVersion"))
        }
        let applications = try (root.child("Applications")?.children("Application") ?? []).map(parseApplication)
        let manifest = AppxManifest(identity: identity, properties: properties, targetDeviceFamilies: families,
                                    packageDependencies: packageDependencies, applications: applications)
        try ManifestRules.check(manifest)
        return manifest
    }

    private static func parseApplication(_ node: XMLElementNode) throws(MSIXError) -> Application {
        guard let id = node.attribute("Id"), !id.isEmpty else {
            throw MSIXError(.invalidManifest, "AppxManifest.xml has an <Application> without an Id")
        }
        let visual = node.child("VisualElements")
        let executable = node.attribute("Executable")
        return Application(id: id, executable: executable, entryPoint: node.attribute("EntryPoint"),
                           displayName: visual?.attribute("DisplayName"), description: visual?.attribute("Description"),
                           square150x150Logo: visual?.attribute("Square150x150Logo"),
                           square44x44Logo: visual?.attribute("Square44x44Logo"),
                           extensions: ApplicationExtensions(node.child("Extensions"), applicationExecutable: executable),
                           desktopCategories: (node.child("DesktopEntry")?.attribute("Categories") ?? "")
                               .split(separator: ";").map(String.init))
    }
}
