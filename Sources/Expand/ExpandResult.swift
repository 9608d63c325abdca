import DiskImage

/// What `Expand` produced.
public struct ExpandResult: Sendable {
    /// The image file.
    public let output: String
    /// Its container format.
    public let format: ImageFormat
    /// The filesystem inside.
    public let filesystem: ImageFilesystem
    /// The directory in the image that holds the package folders.
    public let rootDirectory: String
    /// PackageFullName of every package in the image.
    public let packages: [String]
    /// Files unpacked.
    public let files: Int
    /// Bytes of package payload unpacked.
    public let payloadBytes: UInt64
    /// Size of the image file.
    public let imageBytes: UInt64
    /// The disk layout, for VHD and VHDX.
    public let layout: ImageLayout?
}
