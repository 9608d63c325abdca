import Glibc
import LinuxSystem
import ZipArchive

/// What `MSIXPackage.unpack` wrote.
public struct UnpackResult: Codable, Sendable, Equatable {
    /// Files written.
    public var files: Int
    /// Directories created (not counting the destination itself).
    public var directories: Int
    /// Bytes of file content written.
    public var bytes: UInt64
}

extension MSIXPackage {
    /// Writes the payload and footprint files (all but [Content_Types].xml, as the MSIX SDK
    /// does) under `directory` by their decoded names, checking each 64 KiB block's SHA-256
    /// before writing it. Files get mode 0755 when the ZIP gives them an execute bit, when they
    /// start with an ELF header or `#!`, or when an Application names them; others 0644.
    ///
    /// On any error everything this call created is removed again and the error is thrown.
    /// `progress` receives the running total of bytes written.
    public func unpack(into directory: String, progress: ((UInt64) -> Void)? = nil) throws(MSIXError) -> UnpackResult {
        let listed = try checkStructure()
        var listedByPath: [String: ListedFile] = [:]
        for file in listed { listedByPath[file.part.path] = file }
        let destination = try UnpackDestination(path: directory)
        do {
            if let signature { _ = try SignatureDigests(package: self, signature: signature).check(includingArchive: false) }
            var result = UnpackResult(files: 0, directories: 0, bytes: 0)
            let verifier = BlockVerifier(package: self)
            for part in parts where part.path != Self.contentTypesName {
                let output = try destination.createFile(part.path)
                var written: UInt64 = 0
                var startsLikeProgram = false
                let write = { (chunk: UnsafeRawBufferPointer) throws in
                    if written == 0 { startsLikeProgram = Self.startsLikeProgram(chunk) }
                    try output.write(chunk, at: written)
                    written += UInt64(chunk.count)
                    progress?(result.bytes + written)
                }
                if let listedFile = listedByPath[part.path] {
                    try verifier.stream(listedFile, write)
                } else {
                    // Footprint files outside the block map are covered by the CRC (and the signature digests).
                    try zip.read(part.entry, chunkSize: BlockVerifier.chunkSize, checkCRC: true, write)
                }
                let executable = startsLikeProgram || (part.entry.unixPermissions ?? 0) & 0o111 != 0
                    || applicationExecutables.contains(part.path)
                try retryingOnInterrupt("chmod", output.path) { fchmod(output.descriptor, executable ? 0o755 : 0o644) }
                try output.close()
                result.files += 1
                result.bytes += written
            }
            result.directories = destination.createdDirectories.count
            return result
        } catch {
            destination.removeCreated()
            throw Self.asPackageError(error, path: path)
        }
    }

    /// Paths of the programs the manifest's applications run, with `/` separators.
    var applicationExecutables: Set<String> {
        Set(manifest.applications.compactMap { $0.executable?.replacingOccurrences(of: "\\", with: "/") })
    }

    /// ELF binaries and scripts with a `#!` line must stay runnable even when the package
    /// came from a tool that records no Unix modes (every Windows packer).
    static func startsLikeProgram(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if bytes.count >= 4 && bytes[0] == 0x7F && bytes[1] == 0x45 && bytes[2] == 0x4C && bytes[3] == 0x46 { return true }
        return bytes.count >= 2 && bytes[0] == UInt8(ascii: "#") && bytes[1] == UInt8(ascii: "!")
    }
}
