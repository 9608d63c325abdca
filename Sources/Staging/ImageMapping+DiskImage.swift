import DiskImage
import LinuxSystem

extension ImageMapping {
    /// Reads the image's container and partition table with `DiskImageReader` and returns the
    /// byte range of its filesystem, or a one-line error saying why it cannot be staged
    /// (a dynamic disk with gaps, a VHDX log that needs replay, a filesystem we do not mount).
    public static func read(_ path: String) throws -> ImageMapping {
        let layout = try DiskImageReader.inspect(path)
        let range = try layout.requireMapping()
        let filesystem: Filesystem
        switch layout.filesystem {
        case .erofs: filesystem = .erofs
        case .ext4, .ext3, .ext2: filesystem = .ext4  // the ext4 driver mounts all three
        case .squashfs: filesystem = .squashfs
        case let other:
            throw StagingError("\(path): unsupported filesystem '\(other.rawValue)' (appattach mounts EROFS, ext4 and SquashFS)")
        }
        let file = try OpenFile.openForReading(path)
        let superblock = try file.read(count: Int(min(range.size, 2048)), at: range.offset)
        return ImageMapping(offset: range.offset, length: range.size, filesystem: filesystem,
                            blockSize: blockSize(filesystem, superblock),
                            isBareFilesystem: layout.container == .raw && layout.partitionTable == .none)
    }

    /// The filesystem's block size from its superblock: EROFS `blkszbits` (byte 12 of the
    /// superblock at 1024), ext4 `1024 << s_log_block_size` (byte 24). SquashFS is not read
    /// through direct I/O, so its size is not needed.
    static func blockSize(_ filesystem: Filesystem, _ superblock: [UInt8]) -> UInt32? {
        guard superblock.count >= 1024 + 28 else { return nil }
        switch filesystem {
        case .erofs:
            let bits = superblock[1024 + 12]
            return bits >= 9 && bits <= 16 ? UInt32(1) << bits : nil
        case .ext4:
            let log = UInt32(superblock[1024 + 24]) | UInt32(superblock[1025 + 24]) << 8
                | UInt32(superblock[1026 + 24]) << 16 | UInt32(superblock[1027 + 24]) << 24
            return log <= 6 ? UInt32(1024) << log : nil
        case .squashfs:
            return nil
        }
    }
}
