/// Writes the AppxManifest.xml of a Linux package made by `PackagePacker`.
///
/// The package targets `Linux.All`. freedesktop menu categories travel in an
/// `appattach:DesktopEntry` element whose namespace is declared ignorable, so Windows tools
/// that validate against their schema skip it.
struct ManifestWriter {
    static let foundationNamespace = "http://schemas.microsoft.com/appx/manifest/foundation/windows10"
    static let uapNamespace = "http://schemas.microsoft.com/appx/manifest/uap/windows10"
    static let appattachNamespace = "urn:appattach:manifest:linux:1"

    var identity: PackageIdentity
    var displayName: String
    var publisherDisplayName: String
    var description: String?
    var logo: String?
    var executable: String
    var fileTypes: [ApplicationExtensions.FileType]
    var categories: [String]

    /// The application's Id: fixed, since one generated package holds one app.
    static let applicationId = "App"

    func xml() -> String {
        func attr(_ name: String, _ value: String?) -> String {
            value.map { " \(name)=\"\(XMLText.escape($0))\"" } ?? ""
        }
        let windowsPath = { (path: String) in path.replacingOccurrences(of: "/", with: "\\") }
        var x = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
        x += "<Package xmlns=\"\(Self.foundationNamespace)\" xmlns:uap=\"\(Self.uapNamespace)\""
        x += " xmlns:appattach=\"\(Self.appattachNamespace)\" IgnorableNamespaces=\"uap appattach\">\n"
        x += "  <Identity\(attr("Name", identity.name))\(attr("Publisher", identity.publisher))"
        x += "\(attr("Version", identity.version))\(attr("ProcessorArchitecture", identity.processorArchitecture))"
        x += identity.resourceId.isEmpty ? "" : attr("ResourceId", identity.resourceId)
        x += " />\n  <Properties>\n"
        x += "    <DisplayName>\(XMLText.escape(displayName))</DisplayName>\n"
        x += "    <PublisherDisplayName>\(XMLText.escape(publisherDisplayName))</PublisherDisplayName>\n"
        if let description { x += "    <Description>\(XMLText.escape(description))</Description>\n" }
        if let logo { x += "    <Logo>\(XMLText.escape(windowsPath(logo)))</Logo>\n" }
        x += "  </Properties>\n  <Dependencies>\n"
        x += "    <TargetDeviceFamily Name=\"Linux.All\" MinVersion=\"0.0.0.0\" MaxVersionTested=\"0.0.0.0\" />\n"
        x += "  </Dependencies>\n  <Resources>\n    <Resource Language=\"en-us\" />\n  </Resources>\n"
        x += "  <Applications>\n    <Application Id=\"\(Self.applicationId)\"\(attr("Executable", windowsPath(executable)))"
        x += " EntryPoint=\"Linux.Executable\">\n"
        x += "      <uap:VisualElements\(attr("DisplayName", displayName))\(attr("Description", description ?? displayName))"
        x += "\(attr("Square150x150Logo", logo.map(windowsPath)))\(attr("Square44x44Logo", logo.map(windowsPath)))"
        x += " BackgroundColor=\"transparent\" />\n"
        if !fileTypes.isEmpty {
            x += "      <Extensions>\n        <uap:Extension Category=\"windows.fileTypeAssociation\">\n"
            x += "          <uap:FileTypeAssociation\(attr("Name", associationName))>\n"
            x += "            <uap:DisplayName>\(XMLText.escape(displayName))</uap:DisplayName>\n"
            if let logo { x += "            <uap:Logo>\(XMLText.escape(windowsPath(logo)))</uap:Logo>\n" }
            x += "            <uap:SupportedFileTypes>\n"
            for type in fileTypes {
                x += "              <uap:FileType\(attr("ContentType", type.contentType))>\(XMLText.escape(type.fileExtension))</uap:FileType>\n"
            }
            x += "            </uap:SupportedFileTypes>\n          </uap:FileTypeAssociation>\n"
            x += "        </uap:Extension>\n      </Extensions>\n"
        }
        if !categories.isEmpty {
            x += "      <appattach:DesktopEntry\(attr("Categories", categories.joined(separator: ";")))/>\n"
        }
        x += "    </Application>\n  </Applications>\n</Package>\n"
        return x
    }

    /// FileTypeAssociation Name: lower-case letters, digits, `-`, `.`, as the schema wants.
    private var associationName: String {
        let allowed = identity.name.lowercased().filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }
        return allowed.isEmpty ? "files" : String(allowed.prefix(100))
    }
}
