import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An XML element read into memory, matched by local name so that namespace prefixes
/// (`uap:`, `uap3:`, `desktop:`) do not matter, as manifests mix many of them.
final class XMLElementNode {
    /// The local name, without prefix.
    let name: String
    /// The namespace URI, empty when none.
    let namespace: String
    /// Attributes by local name; an unprefixed attribute wins over a prefixed one of the same name.
    private(set) var attributes: [String: String] = [:]
    private(set) var children: [XMLElementNode] = []
    /// The element's own text, trimmed.
    fileprivate(set) var text = ""

    init(name: String, namespace: String) {
        self.name = name
        self.namespace = namespace
    }

    fileprivate func setAttributes(_ raw: [String: String]) {
        for (key, value) in raw {
            if let colon = key.lastIndex(of: ":") {
                let local = String(key[key.index(after: colon)...])
                if attributes[local] == nil { attributes[local] = value }
            } else {
                attributes[key] = value
            }
        }
    }

    fileprivate func append(_ child: XMLElementNode) { children.append(child) }

    /// The value of attribute `name`, or nil.
    func attribute(_ name: String) -> String? { attributes[name] }

    /// The first child named `name`.
    func child(_ name: String) -> XMLElementNode? { children.first { $0.name == name } }

    /// Every child named `name`.
    func children(_ name: String) -> [XMLElementNode] { children.filter { $0.name == name } }

    /// The text of the first child named `name`, when not empty.
    func childText(_ name: String) -> String? {
        guard let text = child(name)?.text, !text.isEmpty else { return nil }
        return text
    }

    /// Every element named `name` below this one, depth first.
    func descendants(_ name: String) -> [XMLElementNode] {
        var found: [XMLElementNode] = []
        for child in children {
            if child.name == name { found.append(child) }
            found.append(contentsOf: child.descendants(name))
        }
        return found
    }

    /// Parses `bytes` as an XML document and returns its root element.
    /// The error is a one-line reason with the line number where the parser stopped.
    static func parse(_ bytes: [UInt8]) throws(XMLTreeError) -> XMLElementNode {
        let builder = XMLTreeBuilder()
        let parser = XMLParser(data: Data(bytes))
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        parser.delegate = builder
        let ok = parser.parse()
        guard ok, let root = builder.root else {
            let reason = parser.parserError.map { "\(($0 as NSError).code)" } ?? "no root element"
            throw XMLTreeError(message: "not well-formed XML (line \(parser.lineNumber), parser error \(reason))")
        }
        return root
    }
}

/// Why an XML document could not be read.
struct XMLTreeError: Error {
    let message: String
}

/// Builds `XMLElementNode`s from `XMLParser` events.
private final class XMLTreeBuilder: NSObject, XMLParserDelegate {
    var root: XMLElementNode?
    private var stack: [XMLElementNode] = []
    private var texts: [String] = []

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        let local = elementName.split(separator: ":").last.map(String.init) ?? elementName
        let node = XMLElementNode(name: local, namespace: namespaceURI ?? "")
        node.setAttributes(attributeDict)
        if let parent = stack.last { parent.append(node) } else if root == nil { root = node }
        stack.append(node)
        texts.append("")
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if !texts.isEmpty { texts[texts.count - 1] += string }
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        guard let node = stack.popLast() else { return }
        node.text = (texts.popLast() ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
