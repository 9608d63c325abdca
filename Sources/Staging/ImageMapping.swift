/// Which bytes of an image file hold the filesystem, and which filesystem it is: what a loop
/// device needs to map, as read from the image's container and partition table.
public struct ImageMapping: Sendable, Equatable, Codable {
    /// A filesystem the kernel can mount read-only for us.
    public enum Filesystem: String, Sendable, Codable {
        case erofs, ext4, squashfs
    }

    /// Offset of the filesystem in the image file.
    public let offset: UInt64
    /// Its length in bytes.
    public let length: UInt64
    /// Its type.
    public let filesystem: Filesystem
    /// Filesystem block size when known (decides whether direct I/O with 4 KiB blocks is safe).
    public let blockSize: UInt32?
    /// True when the image is a bare filesystem file (no container, no partition table).
    public let isBareFilesystem: Bool

    public init(offset: UInt64, length: UInt64, filesystem: Filesystem, blockSize: UInt32?, isBareFilesystem: Bool) {
        self.offset = offset
        self.length = length
        self.filesystem = filesystem
        self.blockSize = blockSize
        self.isBareFilesystem = isBareFilesystem
    }
}
