import Crypto
import LinuxSystem

/// SHA-256 of a whole file, read in large chunks.
enum ImageDigest {
    static func sha256(of file: OpenFile, size: UInt64) throws -> String {
        var hasher = SHA256()
        let chunk = 4 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        var offset: UInt64 = 0
        while offset < size {
            let n = Int(min(UInt64(chunk), size - offset))
            try buffer.withUnsafeMutableBytes { raw in
                let slice = UnsafeMutableRawBufferPointer(rebasing: raw[0..<n])
                try file.read(into: slice, at: offset)
                hasher.update(bufferPointer: UnsafeRawBufferPointer(slice))
            }
            offset += UInt64(n)
        }
        return hasher.finalize().map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
    }
}
