/// Where things are on the MSIX share: `images/` holds the uploaded images, `catalog.json`
/// describes them, `hostpools/` holds one file per host pool.
public struct ShareLayout: Sendable, Equatable {
    /// The share's root, as mounted where the command runs.
    public let root: String

    public init(root: String) {
        var root = root
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        self.root = root
    }

    public static let imagesDirectoryName = "images"
    public static let catalogName = "catalog.json"
    /// Created exclusively by whoever updates the catalog (see `CatalogLock`).
    public static let lockName = ".catalog.lock"

    public var imagesDirectory: String { root + "/" + Self.imagesDirectoryName }
    public var catalog: String { root + "/" + Self.catalogName }
    public var lock: String { root + "/" + Self.lockName }

    /// The path of image `name` relative to the share, as host-pool files name it.
    public static func relativeImagePath(_ name: String) -> String { imagesDirectoryName + "/" + name }

    /// The absolute path of image `name`.
    public func imagePath(_ name: String) -> String { imagesDirectory + "/" + name }

    /// Why `name` cannot be an image's file name on the share, or nil. Hidden names are kept
    /// for temporary files, and a slash would leave `images/`.
    public static func imageNameProblem(_ name: String) -> String? {
        if name.isEmpty || name.count > 200 { return "must be 1 to 200 characters" }
        if name.hasPrefix(".") { return "must not start with a dot (hidden names are for temporary files)" }
        if name.contains("/") { return "must be a file name, without \"/\"" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "must not contain control characters"
        }
        return nil
    }
}
