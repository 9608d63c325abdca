/// A piece of the virtual disk as stored in the image file.
public enum DiskExtent: Equatable, Sendable {
    /// `length` bytes stored contiguously at `fileOffset`.
    case file(fileOffset: UInt64, length: UInt64)
    /// `length` bytes that are not stored and read as zeros (absent or zero blocks).
    case zero(length: UInt64)

    var length: UInt64 {
        switch self {
        case let .file(_, length), let .zero(length): length
        }
    }
}

/// The guest-visible contents of a disk image: raw, fixed or dynamic VHD, or VHDX.
///
/// Reads go through the block allocation table for dynamic images (absent blocks read as zeros),
/// so the partition table and filesystem magic can be found in any supported container, and
/// `extents(of:)` tells where a range of the disk lives in the file, which decides whether one
/// loop device can map it.
public final class VirtualDisk: @unchecked Sendable {
    /// Bytes of the virtual disk.
    public let size: UInt64
    /// The sector size partition tables use (512 except for 4K-sector VHDX).
    public let logicalSectorSize: Int
    let image: ImageFile
    let map: Map

    /// How virtual offsets translate to file offsets.
    enum Map {
        /// The disk is stored contiguously from this file offset (raw, fixed VHD).
        case linear(base: UInt64)
        /// The disk is split into `blockSize` blocks; `blocks[i]` is the file offset of block i's
        /// data, or nil when it reads as zeros. `limit` is the first file offset blocks may not
        /// reach (the VHD footer).
        case blocks(blockSize: UInt64, blocks: [UInt64?], lowest: UInt64, limit: UInt64)
    }

    init(image: ImageFile, size: UInt64, logicalSectorSize: Int, map: Map) {
        self.image = image
        self.size = size
        self.logicalSectorSize = logicalSectorSize
        self.map = map
    }

    /// Where the virtual bytes `range` are stored, in order, adjacent file pieces merged.
    /// Throws when a block would lie outside the file (truncated or corrupt image).
    public func extents(of range: Range<UInt64>) throws -> [DiskExtent] {
        guard range.upperBound <= size else {
            throw image.error("range \(range.lowerBound)..<\(range.upperBound) lies beyond the virtual disk (size \(size))")
        }
        var out: [DiskExtent] = []
        func append(_ e: DiskExtent) {
            switch (out.last, e) {
            case let (.file(o, l)?, .file(o2, l2)) where o + l == o2: out[out.count - 1] = .file(fileOffset: o, length: l + l2)
            case let (.zero(l)?, .zero(l2)): out[out.count - 1] = .zero(length: l + l2)
            default: out.append(e)
            }
        }
        switch map {
        case let .linear(base):
            guard image.contains(base + range.lowerBound, UInt64(range.count)) else {
                throw image.error("disk data \(range.lowerBound)..<\(range.upperBound) extends beyond the end of the file (size \(image.size)); the file is truncated")
            }
            if !range.isEmpty { append(.file(fileOffset: base + range.lowerBound, length: UInt64(range.count))) }
        case let .blocks(blockSize, blocks, lowest, limit):
            var position = range.lowerBound
            while position < range.upperBound {
                let index = position / blockSize
                let within = position % blockSize
                let length = min(blockSize - within, range.upperBound - position)
                if let start = blocks[Int(index)] {
                    // The whole block's used part must lie inside the file and past the metadata.
                    let used = min(blockSize, size - index * blockSize)
                    guard start >= lowest, start <= limit, used <= limit - start else {
                        throw image.error("block \(index) at file offset \(start) lies outside the data area (\(lowest)..<\(limit)); the file is truncated or corrupt")
                    }
                    append(.file(fileOffset: start + within, length: length))
                } else {
                    append(.zero(length: length))
                }
                position += length
            }
        }
        return out
    }

    /// Starts reading `count` bytes of the virtual disk at `offset` (clipped to the disk) from
    /// the file without waiting (see `ImageFile.prefetch`).
    func prefetch(_ count: UInt64, at offset: UInt64) {
        guard offset < size else { return }
        guard let extents = try? extents(of: offset..<(offset + min(count, size - offset))) else { return }
        for case let .file(fileOffset, length) in extents { image.prefetch(length, at: fileOffset) }
    }

    /// Reads `count` bytes of the virtual disk at `offset`.
    public func read(count: Int, at offset: UInt64) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        for e in try extents(of: offset..<(offset + UInt64(count))) {
            switch e {
            case let .file(fileOffset, length):
                out += try image.read("disk data", at: fileOffset, count: Int(length))
            case let .zero(length):
                out += [UInt8](repeating: 0, count: Int(length))
            }
        }
        return out
    }
}
