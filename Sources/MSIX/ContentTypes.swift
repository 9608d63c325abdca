/// [Content_Types].xml: the MIME type of every part, by extension (`Default`) or by name (`Override`).
public struct ContentTypes: Sendable, Equatable {
    public static let namespace = "http://schemas.openxmlformats.org/package/2006/content-types"

    /// Extension (lower case, no dot) to content type.
    public var defaults: [String: String]
    /// Part name (decoded, with leading `/`) to content type.
    public private(set) var overrides: [String: String] = [:]
    /// The same, keyed by lower-case part name, for lookups.
    private var overridesByLowercasedName: [String: String] = [:]

    public init(defaults: [String: String] = [:], overrides: [String: String] = [:]) {
        self.defaults = defaults
        for (part, type) in overrides { addOverride(part: part, contentType: type) }
    }

    /// Declares the content type of one part (`/AppxManifest.xml`).
    public mutating func addOverride(part: String, contentType: String) {
        overrides[part] = contentType
        overridesByLowercasedName[part.lowercased()] = contentType
    }

    /// The content type of the part at `path` (decoded, no leading `/`), or nil when none is declared.
    /// Part names compare case-insensitively, as in OPC.
    public func contentType(of path: String) -> String? {
        if let type = overridesByLowercasedName["/" + path.lowercased()] { return type }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        return defaults[String(name[name.index(after: dot)...]).lowercased()]
    }

    /// Parses [Content_Types].xml. The error is `.invalidContentTypes`, without a file name.
    public static func parse(_ bytes: [UInt8]) throws(MSIXError) -> ContentTypes {
        let root: XMLElementNode
        do { root = try XMLElementNode.parse(bytes) } catch { throw MSIXError(.invalidContentTypes, "[Content_Types].xml is \(error.message)") }
        guard root.name == "Types", root.namespace == namespace else {
            throw MSIXError(.invalidContentTypes, "[Content_Types].xml root is <\(root.name)>, not <Types> in \(namespace)")
        }
        var types = ContentTypes()
        for node in root.children("Default") {
            guard let ext = node.attribute("Extension"), let type = node.attribute("ContentType") else {
                throw MSIXError(.invalidContentTypes, "[Content_Types].xml has a <Default> without Extension and ContentType")
            }
            types.defaults[ext.lowercased()] = type
        }
        for node in root.children("Override") {
            guard let part = node.attribute("PartName"), let type = node.attribute("ContentType") else {
                throw MSIXError(.invalidContentTypes, "[Content_Types].xml has an <Override> without PartName and ContentType")
            }
            let decoded = (try? PartName.percentDecode(part)) ?? part
            types.addOverride(part: decoded, contentType: type)
        }
        return types
    }

    /// The XML text of these content types, sorted so the same input gives the same bytes.
    public func xml() -> String {
        var text = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Types xmlns=\"\(Self.namespace)\">"
        for (ext, type) in defaults.sorted(by: { $0.key < $1.key }) {
            text += "<Default Extension=\"\(XMLText.escape(ext))\" ContentType=\"\(XMLText.escape(type))\"/>"
        }
        for (part, type) in overrides.sorted(by: { $0.key < $1.key }) {
            text += "<Override PartName=\"\(XMLText.escape("/" + PartName.percentEncode(String(part.dropFirst()))))\" ContentType=\"\(XMLText.escape(type))\"/>"
        }
        return text + "</Types>\n"
    }
}

/// Escaping for XML attribute values and text.
enum XMLText {
    static func escape(_ value: String) -> String {
        var result = ""
        for character in value {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&apos;"
            default: result.append(character)
            }
        }
        return result
    }
}
