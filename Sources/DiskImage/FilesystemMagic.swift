/// Filesystems recognised by their superblock magic.
public enum FilesystemKind: String, Codable, Sendable, CaseIterable {
    case erofs, ext4, ext3, ext2, squashfs, ntfs, xfs, unknown

    /// Bytes from the start of a volume that `detect` needs.
    public static let probeSize = 4096

    /// Identifies the filesystem whose first bytes are `b` (fewer than `probeSize` is fine).
    public static func detect(_ b: [UInt8]) -> FilesystemKind {
        // EROFS: magic 0xE0F5E1E2 at byte 1024 (linux fs/erofs/erofs_fs.h, EROFS_SUPER_OFFSET).
        if b.count >= 1028, b.le32(1024) == 0xE0F5_E1E2 { return .erofs }
        // ext2/3/4: superblock at 1024, s_magic 0xEF53 at +0x38 (linux fs/ext4/ext4.h).
        if b.count >= 1024 + 0x68, b.le16(1024 + 0x38) == 0xEF53 {
            let compat = b.le32(1024 + 0x5C), incompat = b.le32(1024 + 0x60), roCompat = b.le32(1024 + 0x64)
            // Features ext2/ext3 drivers lack: extents 0x40, 64bit 0x80, mmp 0x100, flex_bg 0x200
            // (incompat); huge_file 0x8, gdt_csum 0x10, dir_nlink 0x20, extra_isize 0x40,
            // metadata_csum 0x400 (ro_compat).
            if incompat & 0x3C0 != 0 || roCompat & 0x478 != 0 { return .ext4 }
            return compat & 0x4 != 0 ? .ext3 : .ext2 // has_journal
        }
        // SquashFS: "hsqs" at 0 (little-endian 0x73717368).
        if b.matches("hsqs") { return .squashfs }
        // NTFS: OEM id "NTFS    " at byte 3 of the boot sector.
        if b.matches("NTFS    ", at: 3) { return .ntfs }
        // XFS: "XFSB" at 0.
        if b.matches("XFSB") { return .xfs }
        return .unknown
    }
}
