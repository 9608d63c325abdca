import Foundation
import Glibc
import LinuxSystem

/// The records of staged images, one JSON file each under `staged/`, written atomically.
/// They say which image file a mount came from; the kernel's tables stay the truth about what
/// is mounted, and `Reconcile` brings the two back together after a crash.
public struct StagingRecords: Sendable {
    public let paths: StagingPaths

    public init(paths: StagingPaths) { self.paths = paths }

    /// Writes (or replaces) the record of `image`, and the link from its image path to its id.
    public func save(_ image: StagedImage) throws {
        // Not synced: a record describes mounts, which a power loss takes away with it (and
        // `/run` is a tmpfs on a host); the rename alone keeps it whole if the process dies.
        try AtomicOutput.write(StagingRecordJSON.encode(image), to: paths.record(image.id), mode: 0o600, durable: false)
        try link(imagePath: image.imagePath, to: image.id)
    }

    /// The id of the staged image that came from `imagePath`, from the path index: one
    /// `readlink`, so destaging by path neither reads the image (perhaps on a share that is
    /// gone) nor every record. Nil when the index does not know the path.
    public func id(ofImageAt imagePath: String) -> String? {
        guard let target = readLink(indexEntry(imagePath)), target.hasSuffix(".json") else { return nil }
        return String(target.dropLast(5))
    }

    /// `staged/path-<SHA-256 of the image path>` → `<id>.json`, and back from `<id>.index` to
    /// that entry (so removing a record needs no decoding), each replaced atomically.
    private func link(imagePath: String, to id: String) throws {
        let entry = indexEntry(imagePath)
        try replaceLink(entry, target: id + ".json")
        try replaceLink(paths.records + "/" + id + ".index", target: String(entry[entry.index(after: entry.lastIndex(of: "/")!)...]))
    }

    private func replaceLink(_ path: String, target: String) throws {
        let temporary = path + ".tmp"
        unlink(temporary)
        guard symlink(target, temporary) == 0 else { throw SystemCallError("symlink", temporary) }
        guard rename(temporary, path) == 0 else {
            let error = SystemCallError("rename", path)
            unlink(temporary)
            throw error
        }
    }

    /// The target of the symbolic link at `path`, if it is one.
    private func readLink(_ path: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBufferPointer { raw in
            raw.withMemoryRebound(to: CChar.self) { readlink(path, $0.baseAddress!, $0.count - 1) }
        }
        return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : nil
    }

    private func indexEntry(_ imagePath: String) -> String {
        return paths.records + "/path-" + HexDigits.string(PlainSHA256.hash(Array(imagePath.utf8)))
    }

    /// Every readable record.
    public func all() -> [StagedImage] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: paths.records) else { return [] }
        return names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted().compactMap { name in
            guard let data = FileManager.default.contents(atPath: paths.records + "/" + name) else { return nil }
            return try? JSONDecoder().decode(StagedImage.self, from: data)
        }
    }

    /// The record of image `id`, if there is a readable one.
    public func load(_ id: String) -> StagedImage? {
        guard let data = FileManager.default.contents(atPath: paths.record(id)) else { return nil }
        return try? JSONDecoder().decode(StagedImage.self, from: data)
    }

    /// Removes the record of image `id` and its path index entry.
    public func remove(_ id: String) {
        let back = paths.records + "/" + id + ".index"
        if let entry = readLink(back), readLink(paths.records + "/" + entry) == id + ".json" {
            unlink(paths.records + "/" + entry)
        }
        unlink(back)
        unlink(paths.record(id))
    }

    /// Removes index links whose record is gone (left by a crash between the unlinks).
    @discardableResult
    public func removeStaleIndexEntries() -> Int {
        var removed = 0
        for name in (try? DirectoryListing.names(paths.records)) ?? [] where name.hasPrefix("path-") || name.hasSuffix(".index") {
            let entry = paths.records + "/" + name
            var st = stat()
            // stat follows the link: it fails when the record it names is gone.
            if stat(entry, &st) != 0, unlink(entry) == 0 { removed += 1 }
        }
        return removed
    }
}
