import Foundation

/// AppxBlockMap.xml: for every payload file, its size, its ZIP local header size, and the
/// SHA-256 of each 64 KiB block of its uncompressed content (with the block's compressed size
/// when the file is deflated).
public struct BlockMap: Sendable, Equatable {
    /// The only namespace and hash method this reader accepts.
    public static let namespace = "http://schemas.microsoft.com/appx/2010/blockmap"
    public static let sha256Method = "http://www.w3.org/2001/04/xmlenc#sha256"

    /// One `<File>`.
    public struct File: Sendable, Equatable {
        /// The name as written in the block map (Windows separators, not percent-encoded).
        public var name: String
        /// `Size`: uncompressed bytes.
        public var size: UInt64
        /// `LfhSize`: bytes of the file's ZIP local header.
        public var localHeaderSize: UInt64
        public var blocks: [Block]

        /// The name with `/` separators, as it is compared with decoded ZIP names.
        public var path: String { name.replacingOccurrences(of: "\\", with: "/") }
    }

    /// One `<Block Hash Size>`.
    public struct Block: Sendable, Equatable {
        /// The SHA-256 of the block's uncompressed bytes.
        public var hash: [UInt8]
        /// Compressed bytes of the block; absent for stored files.
        public var compressedSize: UInt64?
    }

    public var files: [File]

    /// Parses AppxBlockMap.xml. The error is `.invalidBlockMap`, without a file name.
    public static func parse(_ bytes: [UInt8]) throws(MSIXError) -> BlockMap {
        let root: XMLElementNode
        do { root = try XMLElementNode.parse(bytes) } catch { throw MSIXError(.invalidBlockMap, "AppxBlockMap.xml is \(error.message)") }
        guard root.name == "BlockMap", root.namespace == namespace else {
            throw MSIXError(.invalidBlockMap, "AppxBlockMap.xml root is <\(root.name)> in namespace '\(root.namespace)', not <BlockMap> in \(namespace)")
        }
        guard root.attribute("HashMethod") == sha256Method else {
            throw MSIXError(.invalidBlockMap, "AppxBlockMap.xml HashMethod '\(root.attribute("HashMethod") ?? "")' is not SHA-256")
        }
        var files: [File] = []
        for node in root.children("File") {
            guard let name = node.attribute("Name"), !name.isEmpty,
                  let size = node.attribute("Size").flatMap(UInt64.init),
                  let lfh = node.attribute("LfhSize").flatMap(UInt64.init) else {
                throw MSIXError(.invalidBlockMap, "AppxBlockMap.xml has a <File> without a valid Name, Size and LfhSize")
            }
            var blocks: [Block] = []
            for (index, blockNode) in node.children("Block").enumerated() {
                guard let encoded = blockNode.attribute("Hash"), let hash = Data(base64Encoded: encoded), hash.count == 32 else {
                    throw MSIXError(.invalidBlockMap, "AppxBlockMap.xml block \(index) of '\(name)' has no valid SHA-256 Hash")
                }
                var compressed: UInt64?
                if let text = blockNode.attribute("Size") {
                    guard let value = UInt64(text) else {
                        throw MSIXError(.invalidBlockMap, "AppxBlockMap.xml block \(index) of '\(name)' has an invalid Size '\(text)'")
                    }
                    compressed = value
                }
                blocks.append(Block(hash: Array(hash), compressedSize: compressed))
            }
            files.append(File(name: name, size: size, localHeaderSize: lfh, blocks: blocks))
        }
        return BlockMap(files: files)
    }
}
