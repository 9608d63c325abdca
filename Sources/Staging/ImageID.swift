import LinuxSystem

/// The stable id of an image: derived from the filesystem's own first 4 KiB (its superblock,
/// holding the filesystem UUID and build time) and length, so the same image file has the same
/// id on every host of a pool, wherever the share is mounted, and reading it costs one small read.
public enum ImageID {
    /// 20 lower-case hex digits.
    public static func compute(file: OpenFile, mapping: ImageMapping) throws -> String {
        let headLength = Int(min(mapping.length, 4096))
        let head = try file.read(count: headLength, at: mapping.offset)
        var hasher = PlainSHA256()
        hasher.update(head)
        withUnsafeBytes(of: mapping.length.littleEndian) { hasher.update(Array($0)) }
        hasher.update(Array(mapping.filesystem.rawValue.utf8))
        return HexDigits.string(hasher.finalize().prefix(10))
    }

    /// Whether `text` has the shape of an image id.
    public static func isWellFormed(_ text: String) -> Bool {
        text.count == 20 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
