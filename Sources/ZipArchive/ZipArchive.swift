// ZipArchive: a ZIP reader and writer over zlib, shaped for MSIX packages.
//
// Why not ZIPFoundation: an MSIX block map records, for every file, the size of its ZIP local
// file header (`LfhSize`) and, for every 64 KiB of uncompressed data, the compressed size of that
// block, which only exists when the deflate stream is flushed (`Z_FULL_FLUSH`) at each 64 KiB
// boundary. ZIPFoundation exposes neither, so the codec is ours: the central directory, local
// headers and Zip64 records are parsed here with every offset bounds-checked, and compression is
// raw deflate from zlib (`windowBits` -15).

/// Constants of the ZIP format shared by the reader and the writer (PKWARE APPNOTE.TXT).
public enum ZipFormat {
    /// The unit MSIX hashes and flushes deflate at: 64 KiB of uncompressed data.
    public static let blockSize = 65_536

    static let localHeaderSignature: UInt32 = 0x0403_4b50
    static let centralHeaderSignature: UInt32 = 0x0201_4b50
    static let endOfCentralDirectorySignature: UInt32 = 0x0605_4b50
    static let zip64EndOfCentralDirectorySignature: UInt32 = 0x0606_4b50
    static let zip64LocatorSignature: UInt32 = 0x0706_4b50
    static let zip64ExtraFieldTag: UInt16 = 0x0001

    static let localHeaderFixedSize = 30
    static let centralHeaderFixedSize = 46
    static let endOfCentralDirectorySize = 22
    static let zip64EndOfCentralDirectorySize = 56
    static let zip64LocatorSize = 20

    /// General purpose flag bit 0: the entry is encrypted.
    static let flagEncrypted: UInt16 = 1 << 0
    /// General purpose flag bit 11: the name is UTF-8.
    static let flagUTF8Name: UInt16 = 1 << 11

    /// "Made by" host 3 is Unix: the high 16 bits of the external attributes are `st_mode`.
    static let unixHost: UInt16 = 3
    static let versionDefault: UInt16 = 20
    static let versionZip64: UInt16 = 45
}

/// How an entry's data is stored in the archive.
public enum CompressionMethod: UInt16, Sendable, Codable {
    /// Method 0: the bytes as they are.
    case stored = 0
    /// Method 8: raw deflate.
    case deflated = 8
}
