import Foundation

/// What `PackageIntegration.prepare` made for one package in the shared directory, and what
/// per-user registration needs from it: icon files and MIME types. Stored beside the files as
/// `integration.json` so an agent that restarts finds it again without re-reading the package.
public struct PreparedIntegration: Codable, Sendable, Equatable {
    public var packageFullName: String
    public var packageFamilyName: String
    /// The shared directory the files were written into.
    public var directory: String
    /// AppId → absolute path of the icon a desktop entry names.
    public var icons: [String: String]
    /// Lower-case extension with its dot → MIME type, for every file type of the package.
    public var mimeTypes: [String: String]

    public init(packageFullName: String, packageFamilyName: String, directory: String,
                icons: [String: String] = [:], mimeTypes: [String: String] = [:]) {
        self.packageFullName = packageFullName
        self.packageFamilyName = packageFamilyName
        self.directory = directory
        self.icons = icons
        self.mimeTypes = mimeTypes
    }

    /// The icon theme name of the app's icon (`appattach-<PFN>-<AppId>`, the file's name
    /// without its extension), for `Icon=`: the shared desktop data directory holds the file
    /// in the hicolor layout (`SharedDesktopData`). Nil when the app has no icon.
    public func iconName(_ appID: String) -> String? {
        guard let path = icons[appID] else { return nil }
        let file = path.split(separator: "/").last.map(String.init) ?? path
        for suffix in [".png", ".svg"] where file.hasSuffix(suffix) { return String(file.dropLast(suffix.count)) }
        return file
    }

    /// The name of the record in the shared directory.
    public static let recordName = "integration.json"

    /// Reads the record that `prepare` left in `directory`.
    public static func load(from directory: String) throws(RegistrationError) -> PreparedIntegration {
        let path = directory + "/" + recordName
        do {
            return try JSONDecoder().decode(PreparedIntegration.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw RegistrationError(.prepare, package: path, "cannot read the prepared integration: \(error)")
        }
    }

    /// The record's bytes: sorted keys, so preparing twice writes the same file.
    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [0x0A]
    }
}
