import LinuxSystem
import ZipArchive

/// An MSIX or APPX package opened for reading: its ZIP index with decoded, validated part
/// names, and its parsed manifest, block map, content types and signature.
///
/// Opening reads only the footprint files; `verify` and `unpack` read the payload.
public final class MSIXPackage: @unchecked Sendable {
    /// The package file, as given to `open`.
    public let path: String
    /// The ZIP archive.
    public let zip: ZipReader
    /// Every ZIP entry with its decoded name.
    public let parts: [Part]
    public let manifest: AppxManifest
    public let blockMap: BlockMap
    public let contentTypes: ContentTypes
    /// The signature's digests, or nil for an unsigned package.
    public let signature: PackageSignature?

    /// Footprint files: package metadata rather than app content.
    public static let manifestName = "AppxManifest.xml"
    public static let blockMapName = "AppxBlockMap.xml"
    public static let contentTypesName = "[Content_Types].xml"
    public static let signatureName = "AppxSignature.p7x"
    public static let codeIntegrityName = "AppxMetadata/CodeIntegrity.cat"
    public static let footprintNames: Set<String> = [manifestName, blockMapName, contentTypesName, signatureName, codeIntegrityName]

    /// One ZIP entry and the name it has on disk once unpacked.
    public struct Part: Sendable, Equatable {
        public let entry: ZipEntry
        /// The percent-decoded name, `/`-separated, checked by `PartName.validate`.
        public let path: String
        /// Whether this is one of `footprintNames`.
        public var isFootprint: Bool { MSIXPackage.footprintNames.contains(path) }
    }

    /// Opens the package at `path` and parses its footprint files. Every error names `path`.
    public static func open(_ path: String) throws(MSIXError) -> MSIXPackage {
        do {
            return try MSIXPackage(path: path, zip: ZipReader.open(path))
        } catch let error as MSIXError {
            throw error.file == nil ? error.naming(path) : error
        } catch let error as ZipError {
            throw MSIXError(error)
        } catch let error as SystemCallError {
            throw MSIXError(.fileSystem, file: path, "cannot read: \(error.reason)")
        } catch {
            throw MSIXError(.corruptZip, file: path, "\(error)")
        }
    }

    private init(path: String, zip: ZipReader) throws {
        self.path = path
        self.zip = zip
        var parts: [Part] = []
        for entry in zip.entries {
            let decoded = try PartName.percentDecode(entry.name)
            try PartName.validate(decoded, rawName: entry.name)
            parts.append(Part(entry: entry, path: decoded))
        }
        try PartName.checkCollisions(parts.map(\.path))
        self.parts = parts
        if parts.contains(where: { $0.path == "AppxMetadata/AppxBundleManifest.xml" }) {
            throw MSIXError(.invalidManifest, "is an MSIX bundle; open the packages inside it instead")
        }
        func footprint(_ name: String) throws -> [UInt8] {
            guard let part = parts.first(where: { $0.path == name }) else {
                throw MSIXError(.missingFootprint, "\(name) is missing (not an MSIX package)")
            }
            return try zip.contents(of: part.entry)
        }
        manifest = try AppxManifest.parse(footprint(Self.manifestName))
        blockMap = try BlockMap.parse(footprint(Self.blockMapName))
        contentTypes = try ContentTypes.parse(footprint(Self.contentTypesName))
        if parts.contains(where: { $0.path == Self.signatureName }) {
            signature = try PackageSignature.parse(footprint(Self.signatureName))
        } else if parts.contains(where: { $0.path == Self.codeIntegrityName }) {
            // CodeIntegrity.cat only means something under a signature that covers it (APPX_E_MISSING_REQUIRED_FILE).
            throw MSIXError(.missingFootprint, "has \(Self.codeIntegrityName) but no \(Self.signatureName): a code integrity catalog needs a signature")
        } else {
            signature = nil
        }
    }

    /// The part whose decoded name is `path`.
    public func part(_ path: String) -> Part? { parts.first { $0.path == path } }
}
