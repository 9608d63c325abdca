import Foundation
import LinuxSystem
import ZipArchive

/// What `PackagePacker.pack` produced.
public struct PackResult: Sendable, Equatable {
    /// The manifest written into the package.
    public var manifest: AppxManifest
    /// Payload files packed (AppxManifest.xml not counted).
    public var files: Int
    /// Uncompressed payload bytes.
    public var bytes: UInt64
}

/// Turns a directory holding a Linux app into a valid MSIX package: manifest, block map with
/// SHA-256 of every 64 KiB block, local header sizes and compressed block sizes, content types.
///
/// Files keep their Unix permission bits. Each file is deflated unless that saves less than
/// 2% (already-compressed data is stored). AppxBlockMap.xml, [Content_Types].xml,
/// AppxSignature.p7x and AppxMetadata/CodeIntegrity.cat found in the directory are not packed:
/// the first two are regenerated, and a signature or catalog would no longer match (a catalog
/// without the signature that covers it makes an invalid package). The package appears at
/// `output` only when complete.
public enum PackagePacker {
    /// Packs `directory` into `output`. Errors name the directory, the output or the option at fault.
    @discardableResult
    public static func pack(directory: String, output: String, options: PackOptions) throws(MSIXError) -> PackResult {
        let scan = try DirectoryScan(root: directory)
        let generated: Set<String> = [MSIXPackage.blockMapName, MSIXPackage.contentTypesName, MSIXPackage.signatureName,
                                      MSIXPackage.manifestName, MSIXPackage.codeIntegrityName]
        let payload = scan.files.filter { !generated.contains($0.path) }
        for file in payload { try PartName.validate(file.path, rawName: file.path) }
        try PartName.checkCollisions(payload.map(\.path) + [MSIXPackage.manifestName])
        let manifestBytes = try ManifestSource(directory: directory, files: payload, options: options).bytes()
        let manifest: AppxManifest
        do { manifest = try AppxManifest.parse(manifestBytes) } catch { throw error.file == nil ? error.naming(options.manifestPath ?? directory) : error }
        if let signer = options.signer, signer.publisher != manifest.identity.publisher {
            throw MSIXError(.invalidSignature, file: directory, "the manifest's Publisher \"\(manifest.identity.publisher)\" is not the signing certificate's subject \"\(signer.publisher)\"; they must be equal")
        }
        do {
            let writer = try ZipWriter(path: output)
            var listed: [(entry: ZipWrittenEntry, path: String, hashes: [[UInt8]])] = []
            var contentTypes = ContentTypes()
            for file in payload {
                let source = try BlockHashingSource(path: directory + "/" + file.path)
                let entry = try writer.add(name: PartName.percentEncode(file.path), from: source, unixPermissions: file.permissions)
                listed.append((entry, file.path, source.blockHashes))
                ContentTypeGuess.declare(file.path, in: &contentTypes)
            }
            let manifestSource = try InMemoryBlockSource(manifestBytes)
            let manifestEntry = try writer.add(name: MSIXPackage.manifestName, from: manifestSource)
            listed.append((manifestEntry, MSIXPackage.manifestName, manifestSource.blockHashes))
            contentTypes.addOverride(part: "/" + MSIXPackage.manifestName, contentType: "application/vnd.ms-appx.manifest+xml")
            contentTypes.addOverride(part: "/" + MSIXPackage.blockMapName, contentType: "application/vnd.ms-appx.blockmap+xml")
            if options.signer != nil {
                contentTypes.addOverride(part: "/" + MSIXPackage.signatureName, contentType: "application/vnd.ms-appx.signature")
            }
            let blockMap = Array(BlockMapWriter.xml(listed).utf8), types = Array(contentTypes.xml().utf8)
            try writer.add(name: MSIXPackage.blockMapName, bytes: blockMap, compression: .deflated)
            try writer.add(name: MSIXPackage.contentTypesName, bytes: types, compression: .deflated)
            if let signer = options.signer {
                let blob = try SignatureDigests.blob(writer: writer, blockMap: blockMap, contentTypes: types)
                let signature: [UInt8]
                do { signature = try signer.signature(for: blob) } catch {
                    throw MSIXError(.invalidSignature, file: output, "cannot sign: \(error)")
                }
                // The signature is the last part: its digests cover every byte before it.
                try writer.add(name: MSIXPackage.signatureName, bytes: signature, compression: .stored)
            }
            try writer.finish(zip64EndRecords: options.signer != nil)
            return PackResult(manifest: manifest, files: payload.count, bytes: payload.reduce(0) { $0 + $1.size })
        } catch let error as MSIXError {
            throw error
        } catch let error as ZipError {
            throw MSIXError(.fileSystem, file: error.file, error.message)
        } catch let error as SystemCallError {
            throw MSIXError(.fileSystem, file: output, "cannot write package: \(error)")
        } catch {
            throw MSIXError(.fileSystem, file: output, "\(error)")
        }
    }
}

/// The manifest in memory, hashed block by block like a packed file.
final class InMemoryBlockSource: ZipEntrySource {
    private let bytes: [UInt8]
    private(set) var blockHashes: [[UInt8]] = []
    var size: UInt64 { UInt64(bytes.count) }

    init(_ bytes: [UInt8]) throws {
        self.bytes = bytes
        blockHashes = BlockHashes.of(bytes)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        try BytesSource(bytes).read(into: buffer, at: offset)
    }
}
