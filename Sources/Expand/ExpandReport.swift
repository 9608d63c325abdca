import DiskImage
import Foundation

/// The printable summary of an expansion, as text or JSON.
public struct ExpandReport: Codable, Sendable {
    public var image: String
    public var format: String
    public var filesystem: String
    public var rootDirectory: String
    public var packages: [String]
    public var files: Int
    public var payloadBytes: UInt64
    public var imageBytes: UInt64
    public var virtualSize: UInt64?
    public var partitionOffset: UInt64?
    public var partitionSize: UInt64?

    public init(_ result: ExpandResult) {
        image = result.output
        format = result.format.rawValue
        filesystem = result.filesystem.rawValue
        rootDirectory = result.rootDirectory
        packages = result.packages
        files = result.files
        payloadBytes = result.payloadBytes
        imageBytes = result.imageBytes
        virtualSize = result.layout?.virtualSize
        partitionOffset = result.layout?.mapping?.offset
        partitionSize = result.layout?.mapping?.size
    }

    /// Pretty, sorted JSON.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// A few lines for people.
    public var text: String {
        var lines = ["\(image): \(format) with \(filesystem), \(Self.mib(imageBytes)) on disk"]
        if let virtualSize { lines.append("  virtual size: \(Self.mib(virtualSize))") }
        if let partitionOffset, let partitionSize {
            lines.append("  filesystem at byte \(partitionOffset), \(partitionSize) bytes")
        }
        lines.append("  \(files) files, \(Self.mib(payloadBytes)) of package payload")
        for package in packages {
            lines.append("  package: \(rootDirectory.isEmpty ? "" : rootDirectory + "/")\(package)")
        }
        return lines.joined(separator: "\n")
    }

    static func mib(_ bytes: UInt64) -> String {
        String(format: "%.1f MiB", Double(bytes) / 1_048_576)
    }
}
