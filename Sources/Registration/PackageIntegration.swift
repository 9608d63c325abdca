import Foundation
import LinuxSystem
import MSIX

/// The per-package half of registration, done once when a package is staged, as root, into a
/// shared directory (such as `/run/appattach/integration/<PackageFullName>`): the apps' icons
/// sorted into `icons/hicolor/<size>/apps/appattach-<PFN>-<AppId>.png|svg`, and the MIME XML
/// for the types the host does not know in `mime/packages/appattach-<PFN>.xml`.
/// `SharedDesktopData` publishes them where desktops read them; per-user registration then only
/// writes a few small text files that name them, instead of copying icons into every home and
/// running `update-mime-database` per user, which is what makes sign-ins slow elsewhere.
///
/// All names carry the `appattach-<PFN>-` prefix, so several packages may share one directory.
public enum PackageIntegration {
    /// Reads the manifest and logos of the package at `packageDir` (resolved beneath it: a
    /// package from a foreign image may hold symbolic links, which are not followed) and writes
    /// the integration files into `sharedDir`. `SharedDesktopData` publishes them where
    /// desktops read them, and compiles the MIME definitions there.
    public static func prepare(packageDir: String, into sharedDir: String,
                               mimeTypes: MimeTypeMap = .system()) throws(RegistrationError) -> PreparedIntegration {
        do {
            let package = try ConfinedDirectory(path: packageDir)
            guard let manifestBytes = try package.readRegularFile(MSIXPackage.manifestName, limit: 8 << 20) else {
                throw RegistrationError(.prepare, package: packageDir, "\(MSIXPackage.manifestName) is missing")
            }
            let manifest = try AppxManifest.parse(manifestBytes)
            try FileManager.default.createDirectory(atPath: sharedDir, withIntermediateDirectories: true)
            let shared = try ConfinedDirectory(path: sharedDir)
            var prepared = PreparedIntegration(packageFullName: manifest.identity.fullName,
                                               packageFamilyName: manifest.identity.familyName, directory: sharedDir)
            var reader = PackageFileReader(package: package)
            for app in manifest.applications {
                if let icon = try writeIcons(app, manifest: manifest, reader: &reader, shared: shared) { prepared.icons[app.id] = icon }
            }
            let xml = mimeDefinitions(manifest, mimeTypes: mimeTypes, prepared: &prepared)
            let familyName = manifest.identity.familyName
            let xmlPath = "mime/packages/\(RegistrationLayout.prefix)\(familyName).xml"
            if xml.definitions.isEmpty {
                try shared.remove(xmlPath)
            } else {
                try shared.writeFile(xmlPath, Array(xml.text.utf8))
            }
            try shared.writeFile(PreparedIntegration.recordName, prepared.encoded())
            return prepared
        } catch let error as RegistrationError {
            throw error
        } catch {
            throw RegistrationError(.prepare, package: packageDir, "\(error)")
        }
    }

    /// Writes every theme size of the app's icon and returns the path a desktop entry names.
    /// The 44x44 logo is the app-list icon on Windows and comes first; the 150x150 tile logo
    /// adds larger sizes; the package logo is the fallback.
    private static func writeIcons(_ app: AppxManifest.Application, manifest: AppxManifest,
                                   reader: inout PackageFileReader, shared: ConfinedDirectory) throws -> String? {
        var variants: [IconVariant] = []
        var contents: [String: [UInt8]] = [:]
        let logos = [app.square44x44Logo, app.square150x150Logo].compactMap { $0 }
        for logo in logos.isEmpty ? [manifest.properties.logo] : logos {
            for variant in try reader.variants(of: logo) where !variants.contains(variant) {
                variants.append(variant)
                contents[variant.path] = try reader.read(variant.path)
            }
        }
        let chosen = IconVariant.byThemeSize(variants)
        guard let preferred = ThemeSize.preferred(chosen.keys) else { return nil }
        let name = RegistrationLayout.prefix(manifest.identity.familyName) + RegistrationLayout.fileNamePart(app.id)
        var preferredPath: String?
        for (size, variant) in chosen {
            let path = "icons/hicolor/\(size.directory)/apps/\(name)" + (size == .scalable ? ".svg" : ".png")
            try shared.writeFile(path, contents[variant.path] ?? [])
            if size == preferred { preferredPath = shared.display(path) }
        }
        return preferredPath
    }

    /// Maps every file type of the package and defines the types the host does not know.
    private static func mimeDefinitions(_ manifest: AppxManifest, mimeTypes: MimeTypeMap,
                                        prepared: inout PreparedIntegration) -> MimeInfoXML {
        var xml = MimeInfoXML()
        for app in manifest.applications {
            for association in app.extensions.fileTypeAssociations {
                for fileType in association.fileTypes {
                    let ext = MimeTypeMap.normalised(fileType.fileExtension)
                    let (type, invented) = mimeTypes.mimeType(forExtension: ext)
                    // The host knows the extension: its type, never shadowed (.csv stays text/csv).
                    guard invented else {
                        prepared.mimeTypes[ext] = type
                        continue
                    }
                    let comment = DisplayText.usable(association.displayName)
                        ?? "\(DisplayText.usable(manifest.properties.displayName) ?? manifest.identity.name) file (\(ext))"
                    let declared = MimeInfoXML.validType(fileType.contentType)
                    if let declared, !mimeTypes.knows(declared) {
                        // The package's own type (application/vnd.contoso.sketch): defined as declared.
                        prepared.mimeTypes[ext] = declared
                        xml.add(type: declared, glob: "*" + ext, comment: comment, parent: nil)
                    } else {
                        // None, or one the host has for other files (text/plain): an invented
                        // type of the host's as its parent, so that the package is not offered
                        // for every text file.
                        prepared.mimeTypes[ext] = type
                        xml.add(type: type, glob: "*" + ext, comment: comment, parent: declared)
                    }
                }
            }
        }
        return xml
    }
}

/// Reads logo files from a package: directory listings and file contents are cached, since
/// every app of a package usually names the same logos.
struct PackageFileReader {
    let package: ConfinedDirectory
    private var listings: [String: [String]] = [:]
    private var files: [String: [UInt8]] = [:]

    init(package: ConfinedDirectory) { self.package = package }

    /// The usable variants of `logo` with their sizes; unreadable or non-square PNGs are skipped.
    mutating func variants(of logo: String) throws -> [IconVariant] {
        let parts = logo.split(separator: "\\").flatMap { $0.split(separator: "/") }.map(String.init)
        guard !parts.isEmpty, !parts.contains(".."), !parts.contains(".") else { return [] }
        let dir = parts.dropLast().joined(separator: "/")
        if listings[dir] == nil { listings[dir] = try package.list(dir) ?? [] }
        var result: [IconVariant] = []
        for (name, unplated) in IconVariant.candidates(of: logo, in: listings[dir] ?? []) {
            let path = dir.isEmpty ? name : dir + "/" + name
            let bytes = try read(path)
            if name.lowercased().hasSuffix(".svg") {
                if !bytes.isEmpty { result.append(IconVariant(path: path, size: nil, unplated: unplated)) }
            } else if let size = IconVariant.squarePNGSize(Array(bytes.prefix(24))) {
                result.append(IconVariant(path: path, size: size, unplated: unplated))
            }
        }
        return result
    }

    /// The file's bytes (at most 4 MiB: an icon, not a payload); empty when unreadable.
    mutating func read(_ path: String) throws -> [UInt8] {
        if let cached = files[path] { return cached }
        let bytes = try package.readRegularFile(path, limit: 4 << 20) ?? []
        files[path] = bytes
        return bytes
    }
}
