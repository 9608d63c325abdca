import Foundation
import Crypto
import LinuxSystem
import ZipArchive

/// A file being packed: feeds `ZipWriter` and records the SHA-256 of every 64 KiB block as it
/// passes, so the block map needs no second read. A block read twice (when the writer retries
/// an entry stored) hashes to the same value in the same slot.
final class BlockHashingSource: ZipEntrySource {
    private let file: OpenFile
    let size: UInt64
    private(set) var blockHashes: [[UInt8]]

    init(path: String) throws {
        file = try OpenFile.openForReading(path)
        size = try file.size()
        let blockSize = UInt64(ZipFormat.blockSize)
        blockHashes = Array(repeating: [], count: Int((size + blockSize - 1) / blockSize))
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        try file.read(into: buffer, at: offset)
        var position = 0
        while position < buffer.count {
            let count = min(ZipFormat.blockSize, buffer.count - position)
            var hasher = SHA256()
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[position..<(position + count)]))
            blockHashes[Int((offset + UInt64(position)) / UInt64(ZipFormat.blockSize))] = Array(hasher.finalize())
            position += count
        }
    }
}

/// Writes AppxBlockMap.xml from what `ZipWriter` reported and the block hashes.
enum BlockMapWriter {
    static func xml(_ files: [(entry: ZipWrittenEntry, path: String, hashes: [[UInt8]])]) -> String {
        var x = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
        x += "<BlockMap xmlns=\"\(BlockMap.namespace)\" HashMethod=\"\(BlockMap.sha256Method)\">"
        for file in files {
            let name = file.path.replacingOccurrences(of: "/", with: "\\")
            x += "<File Name=\"\(XMLText.escape(name))\" Size=\"\(file.entry.uncompressedSize)\" LfhSize=\"\(file.entry.localHeaderSize)\">"
            for (index, hash) in file.hashes.enumerated() {
                x += "<Block Hash=\"\(base64(hash))\""
                if file.entry.method == .deflated { x += " Size=\"\(file.entry.blockCompressedSizes[index])\"" }
                x += "/>"
            }
            x += "</File>"
        }
        return x + "</BlockMap>\n"
    }

    private static func base64(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
    }
}
