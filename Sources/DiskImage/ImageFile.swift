import Glibc
import LinuxSystem

/// An image file opened for reading, whose every read is checked against the file's size first.
///
/// Offsets and lengths read from an image are untrusted; reading through this type turns an
/// out-of-range value into a `DiskImageError` naming the structure, instead of a short read.
final class ImageFile: @unchecked Sendable {
    let file: OpenFile
    let path: String
    let size: UInt64

    init(path: String) throws {
        self.path = path
        file = try OpenFile.openForReading(path)
        let st = try file.status()
        guard st.st_mode & Glibc.S_IFMT == Glibc.S_IFREG else {
            throw DiskImageError(path: path, reason: "not a regular file")
        }
        size = try file.size()
    }

    /// True when `count` bytes at `offset` lie inside the file (no overflow).
    func contains(_ offset: UInt64, _ count: UInt64) -> Bool {
        offset <= size && count <= size - offset
    }

    /// Reads `count` bytes at `offset`, or throws "`what` … extends beyond the end of the file".
    func read(_ what: String, at offset: UInt64, count: Int) throws -> [UInt8] {
        guard count >= 0, contains(offset, UInt64(count)) else {
            throw DiskImageError(path: path, reason: "\(what) at offset \(offset) (\(count) bytes) extends beyond the end of the file (size \(size)); the file is truncated or corrupt")
        }
        return try file.read(count: count, at: offset)
    }

    /// Starts reading the uncached part of `count` bytes at `offset` (clipped to the file)
    /// without waiting (see `OpenFile.willNeed`). A reader that knows where its next
    /// structures are asks for them all before reading the first, so a cold image (first
    /// staged since boot, or on a share) costs one round of I/O per step of the format rather
    /// than one per structure.
    func prefetch(_ count: UInt64, at offset: UInt64) {
        guard offset < size else { return }
        file.willNeed(count: min(count, size - offset), at: offset)
    }

    /// A `DiskImageError` about this file.
    func error(_ reason: String) -> DiskImageError { DiskImageError(path: path, reason: reason) }
}
