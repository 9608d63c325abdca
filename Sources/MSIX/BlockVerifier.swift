import Crypto
import ZipArchive

/// Streams one file's uncompressed content and checks each 64 KiB block against its SHA-256
/// in the block map before passing the data on, so nothing unverified reaches the consumer.
struct BlockVerifier {
    let package: MSIXPackage

    /// Bytes handed to the consumer at a time: 16 blocks, large enough to keep syscalls rare.
    static let chunkSize = 16 * ZipFormat.blockSize

    func stream(_ listed: MSIXPackage.ListedFile, _ consume: (UnsafeRawBufferPointer) throws -> Void) throws {
        var blockIndex = 0
        let blocks = listed.file.blocks
        try package.zip.read(listed.part.entry, chunkSize: Self.chunkSize, checkCRC: false) { chunk in
            var offset = 0
            while offset < chunk.count {
                let count = min(ZipFormat.blockSize, chunk.count - offset)
                var hasher = SHA256()
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: chunk[offset..<(offset + count)]))
                let digest = hasher.finalize()
                guard blockIndex < blocks.count, digest.elementsEqual(blocks[blockIndex].hash) else {
                    throw MSIXError(.blockMismatch, file: package.path,
                                    "block \(blockIndex + 1) of '\(listed.file.name)' does not match the SHA-256 in AppxBlockMap.xml")
                }
                blockIndex += 1
                offset += count
            }
            try consume(chunk)
        }
    }
}
