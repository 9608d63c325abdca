import Crypto
import ZipArchive

/// SHA-256 of each 64 KiB block of a byte array.
enum BlockHashes {
    static func of(_ bytes: [UInt8]) -> [[UInt8]] {
        stride(from: 0, to: bytes.count, by: ZipFormat.blockSize).map { start in
            Array(SHA256.hash(data: bytes[start..<min(start + ZipFormat.blockSize, bytes.count)]))
        }
    }
}

/// Content types for packed files, by extension; files without one get an Override.
enum ContentTypeGuess {
    static let byExtension: [String: String] = [
        "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "svg": "image/svg+xml",
        "ico": "image/vnd.microsoft.icon", "xml": "application/xml", "txt": "text/plain", "html": "text/html",
        "htm": "text/html", "css": "text/css", "js": "application/javascript", "json": "application/json",
        "desktop": "application/x-desktop", "sh": "application/x-sh", "so": "application/x-sharedlib",
        "exe": "application/x-msdownload", "dll": "application/x-msdownload",
    ]

    static func declare(_ path: String, in types: inout ContentTypes) {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if let dot = name.lastIndex(of: "."), dot != name.startIndex {
            let ext = String(name[name.index(after: dot)...]).lowercased()
            // Extensions are case-insensitive in OPC, and must be valid in an XML attribute.
            if types.defaults[ext] == nil {
                types.defaults[ext] = byExtension[ext] ?? "application/octet-stream"
            }
        } else {
            types.addOverride(part: "/" + path, contentType: "application/octet-stream")
        }
    }
}
