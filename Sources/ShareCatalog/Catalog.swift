import DiskImage
import Foundation
import LinuxSystem

/// The share's `catalog.json`: one entry per uploaded image, so that admins and hosts can see
/// what an image is without opening it. Package names come from the uploader (`--package`) or
/// later from staging; the catalog never mounts an image to find them.
public struct Catalog: Codable, Sendable, Equatable {
    /// The format this build writes. A catalog with a higher number is left alone rather than
    /// rewritten without fields this build does not know.
    public static let currentFormat = 1

    public var format: Int
    /// By name.
    public var images: [CatalogEntry]

    public init(format: Int = currentFormat, images: [CatalogEntry] = []) {
        self.format = format
        self.images = images
    }

    /// The entry for image file `name`.
    public func entry(named name: String) -> CatalogEntry? { images.first { $0.name == name } }

    /// Adds `entry`, replacing one of the same name, and keeps entries sorted by name so that
    /// the file diffs cleanly between uploads.
    public mutating func insert(_ entry: CatalogEntry) {
        images.removeAll { $0.name == entry.name }
        images.append(entry)
        images.sort { $0.name < $1.name }
    }

    /// Reads the catalog at `path`; a missing file is an empty catalog (a new share).
    public static func load(path: String) throws -> Catalog {
        let bytes: [UInt8]
        do {
            let file = try OpenFile.openForReading(path)
            bytes = try file.read(count: Int(try file.size()), at: 0)
        } catch let error as SystemCallError where error.errno == ENOENT {
            return Catalog()
        }
        return try decode(bytes, path: path)
    }

    static func decode(_ bytes: [UInt8], path: String) throws -> Catalog {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let catalog: Catalog
        do {
            catalog = try decoder.decode(Catalog.self, from: Data(bytes))
        } catch {
            throw ShareCatalogError(path, "is not a valid catalog (\(Self.describe(error))); fix or remove it by hand")
        }
        guard catalog.format <= currentFormat else {
            throw ShareCatalogError(path, "has format \(catalog.format), newer than the \(currentFormat) this appattachctl writes; use a newer appattachctl")
        }
        return catalog
    }

    /// The catalog as written to the share: pretty, sorted keys, ISO 8601 dates.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return Array(try encoder.encode(self)) + [0x0A]
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context), DecodingError.typeMismatch(_, let context),
             DecodingError.valueNotFound(_, let context), DecodingError.keyNotFound(_, let context):
            let path = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            return (path.isEmpty ? "" : path + ": ") + context.debugDescription
        default:
            return String(describing: error)
        }
    }
}

/// One uploaded image.
public struct CatalogEntry: Codable, Sendable, Equatable {
    /// The file name in `images/`.
    public var name: String
    /// `images/<name>`, what a host-pool file's `image` says.
    public var path: String
    /// SHA-256 of the whole file, lower-case hex.
    public var sha256: String
    public var size: UInt64
    public var container: ContainerKind
    public var filesystem: FilesystemKind
    /// PackageFullNames inside, as the uploader declared them (may be empty).
    public var packages: [String]
    public var uploadedAt: Date
    /// The host name of the machine that uploaded it.
    public var uploadedBy: String

    public init(name: String, sha256: String, size: UInt64, container: ContainerKind, filesystem: FilesystemKind,
                packages: [String], uploadedAt: Date, uploadedBy: String) {
        self.name = name
        self.path = ShareLayout.relativeImagePath(name)
        self.sha256 = sha256
        self.size = size
        self.container = container
        self.filesystem = filesystem
        self.packages = packages
        self.uploadedAt = uploadedAt
        self.uploadedBy = uploadedBy
    }

    enum CodingKeys: String, CodingKey {
        case name, path, sha256, size, container, filesystem, packages
        case uploadedAt = "uploaded_at", uploadedBy = "uploaded_by"
    }
}
