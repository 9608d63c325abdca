import Glibc
import LinuxSystem

/// Turns a filesystem image file into a fixed VHD or VHDX disk image, in place.
///
/// The result is a GPT disk with one "Linux filesystem" partition at 1 MiB whose contents are
/// exactly the filesystem file, stored contiguously, so a loop device with one offset and size
/// limit mounts it (the returned layout's `mapping`).
public enum DiskImageWriter {
    /// The GPT partition name.
    public static let partitionName = "appattach"

    /// How the filesystem's bytes get behind the new front matter.
    enum Strategy: Equatable {
        /// `FALLOC_FL_INSERT_RANGE` where the filesystem supports it, else a copy.
        case insertRangeOrCopy
        /// Always copy into a new file (the fallback; tests force it).
        case copy
    }

    /// Converts the filesystem image at `path` into a fixed `format` image, in place.
    ///
    /// - Parameters:
    ///   - path: A file holding a filesystem (EROFS, ext4, …) from its first byte. It is replaced
    ///     by the disk image under the same name.
    ///   - format: `.vhdx` or `.vhd`.
    ///   - virtualSize: The smallest virtual disk size wanted; nil picks the smallest that holds
    ///     the filesystem. Rounded up to what the format describes exactly.
    /// - Returns: The layout read back from the finished file.
    ///
    /// The payload is not copied where the filesystem supports `FALLOC_FL_INSERT_RANGE` (ext4,
    /// xfs): the front matter is inserted as a hole in front of it. Elsewhere the data is copied
    /// with `copy_file_range` into a temporary file that replaces the original by rename. In the
    /// in-place case a failure can leave the file half converted, so callers convert a file that
    /// is itself still under a temporary name.
    public static func wrapFilesystem(at path: String, format: ContainerFormat,
                                      virtualSize: UInt64? = nil) throws -> ImageLayout {
        try wrapFilesystem(at: path, format: format, virtualSize: virtualSize, strategy: .insertRangeOrCopy)
    }

    static func wrapFilesystem(at path: String, format: ContainerFormat, virtualSize: UInt64?,
                               strategy: Strategy) throws -> ImageLayout {
        let source = try OpenFile.openForWriting(path, create: false)
        let status = try source.status()
        guard status.st_mode & Glibc.S_IFMT == Glibc.S_IFREG else {
            throw DiskImageError(path: path, reason: "not a regular file")
        }
        let filesystemSize = UInt64(status.st_size)
        // Only a bare filesystem is wrapped: a file that is already a disk image (or anything
        // unrecognised) would produce a disk nobody can mount.
        let probe = try source.read(count: Int(min(filesystemSize, UInt64(FilesystemKind.probeSize))), at: 0)
        let kind = FilesystemKind.detect(probe)
        guard kind != .unknown else {
            throw DiskImageError(path: path, reason: "does not start with a recognised filesystem (EROFS, ext2/3/4, SquashFS, XFS, NTFS)")
        }
        let plan = try naming(path) { try WrapPlan(format: format, filesystemSize: filesystemSize, virtualSize: virtualSize) }
        let pieces = structures(plan)

        if strategy == .insertRangeOrCopy, try FileSpace.insertHole(atStartOf: source, length: plan.prefix) {
            try source.truncate(to: plan.fileSize)
            for (offset, bytes) in pieces { try source.write(bytes, at: offset) }
            try source.sync()
        } else {
            let output = try AtomicOutput(finalPath: path, mode: status.st_mode & 0o7777)
            try output.file.truncate(to: plan.fileSize)
            try source.copyContents(to: output.file, count: filesystemSize, at: plan.prefix)
            for (offset, bytes) in pieces { try output.file.write(bytes, at: offset) }
            try output.commit()
        }

        // Read the result back with the independent code path, and check it says what was planned.
        let layout = try DiskImageReader.inspect(path)
        guard layout.mapping == plan.filesystemRange, layout.virtualSize == plan.diskSize, layout.filesystem == kind else {
            throw DiskImageError(path: path, reason: "the written image does not read back as planned (mapping \(String(describing: layout.mapping)), expected \(plan.filesystemRange))")
        }
        return layout
    }

    /// Every structure of the finished file as `(file offset, bytes)`: container front matter,
    /// protective MBR and primary GPT, backup GPT, and the VHD footer.
    static func structures(_ plan: WrapPlan) -> [(UInt64, [UInt8])] {
        let sector: UInt64 = 512
        let partitionSectors = plan.partitionSize / sector
        let firstLBA = WrapPlan.partitionStart / sector
        let gpt = GPT(diskGuid: .random(), partitions: [
            GPT.Entry(typeGuid: PartitionTypes.linuxFilesystem, uniqueGuid: .random(), firstLBA: firstLBA,
                      lastLBA: firstLBA + partitionSectors - 1, name: partitionName),
        ])
        let (primary, backup, backupLBA) = gpt.encoded(diskSectors: plan.diskSize / sector)
        var pieces: [(UInt64, [UInt8])] = []
        if plan.format == .vhdx { pieces += VHDXWriter.frontMatter(plan) }
        pieces.append((plan.diskOffset, primary))
        pieces.append((plan.diskOffset + backupLBA * sector, backup))
        if plan.format == .vhd {
            pieces.append((plan.diskOffset + plan.diskSize, VHDWriter.footer(plan, now: Int64(time(nil)))))
        }
        return pieces
    }
}
