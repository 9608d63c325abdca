import Foundation
import Glibc
import LinuxSystem

/// The records of staged images, one JSON file each under `staged/`, written atomically.
/// They say which image file a mount came from; the kernel's tables stay the truth about what
/// is mounted, and `Reconcile` brings the two back together after a crash.
public struct StagingRecords: Sendable {
    public let paths: StagingPaths

    public init(paths: StagingPaths) { self.paths = paths }

    /// Writes (or replaces) the record of `image`.
    public func save(_ image: StagedImage) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicOutput.write(Array(try encoder.encode(image)), to: paths.record(image.id), mode: 0o600)
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

    /// Removes the record of image `id`.
    public func remove(_ id: String) {
        unlink(paths.record(id))
    }
}
