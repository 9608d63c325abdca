/// The container an expanded image is written in.
public enum ImageFormat: String, CaseIterable, Sendable, Codable {
    /// A fixed VHDX holding a GPT disk with one partition at 1 MiB (the default, like MSIXMGR).
    case vhdx
    /// A fixed VHD holding the same GPT disk.
    case vhd
    /// The bare filesystem, no disk around it (`--filesystem erofs` only).
    case erofs

    /// The format implied by a file name's extension, if any.
    public static func guess(fromPath path: String) -> ImageFormat? {
        let lower = path.lowercased()
        if lower.hasSuffix(".vhdx") { return .vhdx }
        if lower.hasSuffix(".vhd") { return .vhd }
        if lower.hasSuffix(".erofs") { return .erofs }
        return nil
    }
}

/// The filesystem inside the image.
public enum ImageFilesystem: String, CaseIterable, Sendable, Codable {
    /// EROFS: read-only, compact, mounts in a fraction of a millisecond (the default).
    case erofs
    /// ext4 without a journal, for hosts whose kernel has no EROFS.
    case ext4
}

/// How big the virtual disk should be.
public enum ImageSize: Sendable, Equatable {
    /// Just big enough for the packages.
    case automatic
    /// Exactly this many MiB (refused if the packages do not fit).
    case megabytes(UInt64)

    /// Parses `auto` or a number of megabytes.
    public init?(argument: String) {
        if argument.lowercased() == "auto" { self = .automatic; return }
        guard let n = UInt64(argument), n > 0 else { return nil }
        self = .megabytes(n)
    }
}

/// Everything `appattachctl expand` was asked to do.
public struct ExpandOptions: Sendable {
    /// The MSIX/APPX packages to put in the image, in order.
    public var packages: [String]
    /// The image file to create; it appears only when complete.
    public var output: String
    /// Container format.
    public var format: ImageFormat
    /// Filesystem inside.
    public var filesystem: ImageFilesystem
    /// A directory inside the image that holds the package folders (`""` = the image's root).
    public var rootDirectory: String
    /// Virtual disk size.
    public var size: ImageSize
    /// If set, only this group (name or gid) may read the packages; otherwise everyone may.
    public var readersGroup: String?

    public init(packages: [String], output: String, format: ImageFormat = .vhdx,
                filesystem: ImageFilesystem = .erofs, rootDirectory: String = "",
                size: ImageSize = .automatic, readersGroup: String? = nil) {
        self.packages = packages
        self.output = output
        self.format = format
        self.filesystem = filesystem
        self.rootDirectory = rootDirectory
        self.size = size
        self.readersGroup = readersGroup
    }
}
