import Crypto
import LinuxSystem
import ZipArchive

/// Checks the digests in AppxSignature.p7x against the package (not the PKCS#7 signature).
///
/// `AXPC` covers the raw archive bytes before the signature's local header; `AXCD` covers the
/// central directory as it was before the signature was added: without the signature's entry,
/// followed by Zip64 end records whose count, size and offset describe that shorter directory.
struct SignatureDigests {
    let package: MSIXPackage
    let signature: PackageSignature

    /// Checks `AXBM`, `AXCT`, `AXCI`, and with `includingArchive` also `AXPC` and `AXCD` (a
    /// full read of the package). Returns the tags checked.
    func check(includingArchive: Bool) throws -> [String] {
        var checked: [String] = []
        let files = ["AXBM": MSIXPackage.blockMapName, "AXCT": MSIXPackage.contentTypesName,
                     "AXCI": MSIXPackage.codeIntegrityName]
        for tag in ["AXBM", "AXCT", "AXCI"] {
            guard let expected = signature.digests[tag] else { continue }
            guard let part = package.part(files[tag]!) else {
                throw mismatch("has an \(tag) digest but \(files[tag]!) is missing")
            }
            try compare(tag, expected, SHA256.hash(data: package.zip.contents(of: part.entry)), files[tag]!)
            checked.append(tag)
        }
        guard includingArchive, let signaturePart = package.part(MSIXPackage.signatureName) else { return checked }
        try compare("AXPC", signature.digests["AXPC"]!, Self.hash(package.zip.file, upTo: signaturePart.entry.localHeaderOffset), "the ZIP file records")
        checked.append("AXPC")
        if let directory = try directoryWithoutSignature(signaturePart.entry) {
            try compare("AXCD", signature.digests["AXCD"]!, SHA256.hash(data: directory), "the central directory")
            checked.append("AXCD")
        }
        return checked
    }

    private func mismatch(_ message: String) -> MSIXError {
        MSIXError(.invalidSignature, file: package.path, "AppxSignature.p7x \(message)")
    }

    private func compare(_ tag: String, _ expected: String, _ digest: SHA256.Digest, _ what: String) throws {
        let hex = digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        guard hex == expected else { throw mismatch("digest \(tag) does not match \(what)") }
    }

    /// SHA-256 of the first `end` bytes of `file` (AXPC: every ZIP record before the signature).
    static func hash(_ file: OpenFile, upTo end: UInt64) throws -> SHA256.Digest {
        var hasher = SHA256()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        var offset: UInt64 = 0
        while offset < end {
            let count = Int(min(end - offset, UInt64(buffer.count)))
            let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
            try file.read(into: chunk, at: offset)
            hasher.update(bufferPointer: UnsafeRawBufferPointer(chunk))
            offset += UInt64(count)
        }
        return hasher.finalize()
    }

    /// Rebuilds the central directory and end records as they were before signing, or nil when
    /// the archive does not end with the Zip64 records makeappx writes (then AXCD is not checked).
    private func directoryWithoutSignature(_ signatureEntry: ZipEntry) throws -> [UInt8]? {
        let zip = package.zip
        let tail = try zip.file.read(count: Int(zip.fileSize - zip.centralDirectoryOffset), at: zip.centralDirectoryOffset)
        let directorySize = Int(zip.centralDirectorySize)
        let endRecords = Array(tail[directorySize...])
        guard endRecords.count == 56 + 20 + 22, endRecords[0..<4].elementsEqual([0x50, 0x4b, 0x06, 0x06]) else { return nil }
        var directory: [UInt8] = []
        var position = 0
        while position < directorySize {
            let lengths = (28..<34).map { Int(tail[position + $0]) }
            let length = 46 + (lengths[0] | lengths[1] << 8) + (lengths[2] | lengths[3] << 8) + (lengths[4] | lengths[5] << 8)
            let name = tail[(position + 46)..<(position + 46 + (lengths[0] | lengths[1] << 8))]
            if !name.elementsEqual(signatureEntry.rawName) { directory += tail[position..<(position + length)] }
            position += length
        }
        let count = UInt64(zip.entries.count - 1)
        var record = Array(endRecords[0..<56]), locator = Array(endRecords[56..<76])
        put(count, into: &record, at: 24); put(count, into: &record, at: 32)
        put(UInt64(directory.count), into: &record, at: 40)
        put(signatureEntry.localHeaderOffset, into: &record, at: 48)
        put(signatureEntry.localHeaderOffset + UInt64(directory.count), into: &locator, at: 8)
        return directory + record + locator + Array(endRecords[76...])
    }

    /// The APPX blob of a package being signed, whose parts are all written to `writer`: the
    /// signature comes next, as the last part. `AXPC` covers every byte written so far; `AXCD`
    /// the central directory and Zip64 end records the archive would have without the
    /// signature (what a verifier rebuilds, see `directoryWithoutSignature`).
    static func blob(writer: ZipWriter, blockMap: [UInt8], contentTypes: [UInt8]) throws -> [UInt8] {
        try writer.flush()
        let signatureOffset = writer.position
        let archive = try hash(writer.output.file, upTo: signatureOffset)
        let directory = ZipWriter.directoryAndEndRecords(of: writer.entries, at: signatureOffset, zip64EndRecords: true)
        var blob = Array("APPX".utf8)
        for (tag, digest) in [("AXPC", archive), ("AXCD", SHA256.hash(data: directory)),
                              ("AXCT", SHA256.hash(data: contentTypes)), ("AXBM", SHA256.hash(data: blockMap))] {
            blob += Array(tag.utf8) + Array(digest)
        }
        return blob
    }

    private func put(_ value: UInt64, into bytes: inout [UInt8], at offset: Int) {
        for i in 0..<8 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }
}
