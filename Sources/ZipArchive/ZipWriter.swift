import CZlib
import Glibc
import LinuxSystem

/// Writes a ZIP archive entry by entry to a file that appears under its name only when
/// `finish()` succeeds (temporary name, `fsync`, `rename`).
///
/// Deflated entries are flushed with `Z_FULL_FLUSH` at every 64 KiB of uncompressed data and
/// the compressed size of each block is reported, as MSIX block maps need; the local header
/// size of each entry is reported too. Local headers carry the final sizes and CRC (patched
/// after the data, no data descriptors). Zip64 records are written only when a size, offset or
/// count needs them. Timestamps are fixed at 1980-01-01 so the same input gives the same bytes.
public final class ZipWriter {
    /// The archive being written.
    public let output: AtomicOutput
    /// Every entry written so far, in order.
    public private(set) var entries: [ZipWrittenEntry] = []
    private let sink: OutputBuffer
    private var names = Set<String>()
    private var finished = false

    /// An entry larger than this gets a Zip64 extra field in its local header: the header is
    /// written before the data, and deflate can grow incompressible data slightly, so the
    /// margin keeps a 32-bit size field from overflowing after it has been committed to.
    static let zip64LocalThreshold: UInt64 = 0xF000_0000
    static let dosDate: UInt16 = (0 << 9) | (1 << 5) | 1
    static let dosTime: UInt16 = 0

    /// Starts an archive that will be named `path`, with permissions `mode`.
    public init(path: String, mode: mode_t = 0o644) throws {
        output = try AtomicOutput(finalPath: path, mode: mode)
        sink = OutputBuffer(file: output.file)
    }

    /// Adds an entry whose data comes from `source`.
    @discardableResult
    public func add(name: String, from source: ZipEntrySource,
                    compression: ZipCompression = .automatic(minimumSaving: 0.02),
                    unixPermissions: UInt16 = 0o644) throws -> ZipWrittenEntry {
        precondition(!finished, "ZipWriter.add after finish")
        let rawName = Array(name.utf8)
        guard !rawName.isEmpty, rawName.count <= 0xFFFF else {
            throw ZipError(.writeFailed, file: output.finalPath, "entry name '\(name)' is empty or too long")
        }
        guard names.insert(name).inserted else {
            throw ZipError(.writeFailed, file: output.finalPath, "entry '\(name)' is added twice")
        }
        let start = sink.position
        var entry: ZipWrittenEntry
        switch compression {
        case .stored:
            entry = try write(rawName, name, source, level: nil, unixPermissions)
        case .deflated(let level):
            entry = try write(rawName, name, source, level: level, unixPermissions)
        case .automatic(let minimumSaving):
            let worthIt = try EntryCompressor.sampleSaves(source, atLeast: minimumSaving)
            entry = try write(rawName, name, source, level: worthIt ? 6 : nil, unixPermissions)
            if worthIt && !EntryCompressor.saves(entry, atLeast: minimumSaving) {
                try sink.rewind(to: start)
                entry = try write(rawName, name, source, level: nil, unixPermissions)
            }
        }
        entries.append(entry)
        return entry
    }

    /// Adds an entry with the given bytes.
    @discardableResult
    public func add(name: String, bytes: [UInt8], compression: ZipCompression = .automatic(minimumSaving: 0.02),
                    unixPermissions: UInt16 = 0o644) throws -> ZipWrittenEntry {
        try add(name: name, from: BytesSource(bytes), compression: compression, unixPermissions: unixPermissions)
    }

    /// Where the next entry's local header goes: the bytes written so far.
    public var position: UInt64 { sink.position }

    /// Writes what is buffered, so that the bytes before `position` can be read back from
    /// `output.file` (a signature hashes them).
    public func flush() throws { try sink.flush() }

    /// The central directory and end records an archive of `entries` would end with, were
    /// its directory at `directoryOffset`: what an MSIX signature's `AXCD` digest covers.
    public static func directoryAndEndRecords(of entries: [ZipWrittenEntry], at directoryOffset: UInt64,
                                              zip64EndRecords: Bool) -> [UInt8] {
        var bytes: [UInt8] = []
        for entry in entries { bytes += ZipHeaders.centralHeader(for: entry) }
        let size = UInt64(bytes.count)
        return bytes + ZipHeaders.endRecords(entryCount: UInt64(entries.count), directoryOffset: directoryOffset,
                                             directorySize: size, endRecordsOffset: directoryOffset + size,
                                             forceZip64: zip64EndRecords)
    }

    /// Writes the central directory and end records, then gives the archive its final name.
    /// `zip64EndRecords` writes the Zip64 end records even when nothing needs them, as
    /// signed MSIX packages have them.
    public func finish(zip64EndRecords: Bool = false) throws {
        precondition(!finished, "ZipWriter.finish called twice")
        finished = true
        let directoryOffset = sink.position
        for entry in entries { try sink.append(ZipHeaders.centralHeader(for: entry)) }
        let directorySize = sink.position - directoryOffset
        try sink.append(ZipHeaders.endRecords(entryCount: UInt64(entries.count), directoryOffset: directoryOffset,
                                              directorySize: directorySize, endRecordsOffset: sink.position,
                                              forceZip64: zip64EndRecords))
        try sink.flush()
        // An entry rewritten stored may have left bytes of its deflated attempt past the end.
        try output.file.truncate(to: sink.position)
        try output.commit()
    }

    /// Writes one entry: header, data, then the header again with the real sizes and CRC.
    private func write(_ rawName: [UInt8], _ name: String, _ source: ZipEntrySource, level: Int32?,
                       _ permissions: UInt16) throws -> ZipWrittenEntry {
        let method: CompressionMethod = level == nil ? .stored : .deflated
        let zip64 = source.size >= Self.zip64LocalThreshold
        let headerOffset = sink.position
        let header = ZipHeaders.localHeader(rawName: rawName, method: method, zip64: zip64)
        try sink.append(header)
        let compressor = EntryCompressor(source: source, sink: sink)
        let data = try level.map { try compressor.deflate(level: $0) } ?? compressor.store()
        let compressedSize = sink.position - headerOffset - UInt64(header.count)
        if !zip64 && (compressedSize >= 0xFFFF_FFFF || source.size >= 0xFFFF_FFFF) {
            throw ZipError(.writeFailed, file: output.finalPath, "'\(name)' grew past 4 GiB while being compressed")
        }
        try sink.patch(ZipHeaders.localSizes(crc32: data.crc32, compressedSize: compressedSize,
                                             uncompressedSize: source.size, zip64: zip64),
                       at: headerOffset + 14)
        if zip64 {
            try sink.patch(ZipHeaders.zip64LocalExtra(compressedSize: compressedSize, uncompressedSize: source.size),
                           at: headerOffset + UInt64(ZipFormat.localHeaderFixedSize + rawName.count))
        }
        return ZipWrittenEntry(name: name, method: method, crc32: data.crc32, compressedSize: compressedSize,
                               uncompressedSize: source.size, localHeaderOffset: headerOffset,
                               localHeaderSize: UInt64(header.count), blockCompressedSizes: data.blockSizes,
                               unixPermissions: permissions & 0o7777)
    }
}
