import DiskImage
import Foundation
import Glibc
import ShareCatalog
import TestSupport

/// A scratch share and images to upload. The images are raw EROFS-shaped files: zeros up to
/// the superblock magic at byte 1024 (so no partition table is seen), then bytes derived from
/// a seed, so each seed gives different content.
final class ScratchShare {
    let dir = TestEnvironment.makeTemporaryDirectory("upload")
    var share: String { dir + "/share" }
    var layout: ShareLayout { ShareLayout(root: share) }

    init() throws {
        try FileManager.default.createDirectory(atPath: share, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    /// Writes an image of `size` bytes at `<dir>/<name>` and returns its path.
    func makeImage(_ name: String, seed: UInt8, size: Int = 1 << 20) throws -> String {
        var bytes = [UInt8](repeating: 0, count: size)
        bytes[1024] = 0xE2; bytes[1025] = 0xE1; bytes[1026] = 0xF5; bytes[1027] = 0xE0
        var state = UInt32(seed) &* 2_654_435_761 &+ 1
        for i in 4096..<size {
            state = state &* 1_103_515_245 &+ 12345
            bytes[i] = UInt8(truncatingIfNeeded: state >> 16)
        }
        let path = dir + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Every file name under the share, hidden ones included, relative to it.
    func files() -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: share) else { return [] }
        return enumerator.compactMap { $0 as? String }.filter {
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: share + "/" + $0, isDirectory: &isDir)
            return !isDir.boolValue
        }.sorted()
    }

    func catalog() throws -> Catalog { try Catalog.load(path: layout.catalog) }

    func upload(replace: Bool = false, host: String = "builder1") -> ImageUpload {
        ImageUpload(share: share, host: host, replace: replace,
                    now: { Date(timeIntervalSince1970: 1_800_000_000) })
    }
}
