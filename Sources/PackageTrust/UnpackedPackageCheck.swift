import Crypto
import Glibc
import LinuxSystem
import MSIX

/// Checks a package as it lies unpacked in a staged image, against its own signature: the
/// signed `AXBM` digest is the hash of the folder's `AppxBlockMap.xml` (and `AXCI` of its code
/// integrity catalog), every file the block map lists is in the folder with its size and the
/// SHA-256 of each 64 KiB block, nothing else is there (no extra file, link, FIFO or device),
/// and then `SignatureTrust`'s questions: the signature, the chain, the publisher.
///
/// The digests of the ZIP itself (`AXPC`, `AXCD`, `AXCT`) describe the archive the package was
/// expanded from, which the image no longer holds; the block map, which the signature covers,
/// covers every file. Paths are resolved beneath the folder without following a link or
/// crossing a mount (`ConfinedDirectory`): the image is as hostile as the package.
public struct UnpackedPackageCheck: Sendable {
    public let trust: SignatureTrust

    public init(trust: SignatureTrust) {
        self.trust = trust
    }

    /// The files of an unpacked package that the block map does not list.
    static let footprint: Set<String> = [MSIXPackage.blockMapName, MSIXPackage.signatureName, MSIXPackage.contentTypesName,
                                         MSIXPackage.codeIntegrityName]

    /// The largest block map read: 64 MiB covers millions of blocks.
    static let maximumBlockMapSize = 64 << 20

    /// Checks the package in `folder`, whose manifest says `publisher`. Runs its async part on a
    /// thread of its own (`ThreadExecutor.runBlocking`): callers are synchronous staging code.
    public func check(folder: String, publisher: String) throws(TrustError) -> TrustedSigner {
        let files = try checkFiles(folder)
        let trust = self.trust
        return try ThreadExecutor.runBlocking { () async throws(TrustError) -> TrustedSigner in
            try await trust.check(signatureBytes: files.signature, verifiedDigests: files.digests, publisher: publisher)
        }
    }

    /// The signature's bytes and the digests that were checked against the folder.
    public struct CheckedFiles: Sendable {
        /// AppxSignature.p7x.
        public var signature: [UInt8]
        /// The signed digests, by tag.
        public var digests: [String: String]
    }

    /// Everything but the trust questions: the files against the block map, the block map and
    /// catalog against the signed digests.
    public func checkFiles(_ folder: String) throws(TrustError) -> CheckedFiles {
        func fail(_ kind: TrustError.Kind, _ message: String) -> TrustError { TrustError(kind, file: folder, message) }
        let root: ConfinedDirectory
        do { root = try ConfinedDirectory(path: folder) } catch { throw fail(.malformed, "cannot open the package folder: \(error)") }
        func read(_ name: String, limit: Int) throws(TrustError) -> [UInt8]? {
            do { return try root.readRegularFile(name, limit: limit) } catch { throw fail(.malformed, "cannot read \(name): \(error)") }
        }
        guard let signature = try read(MSIXPackage.signatureName, limit: AppxSignedData.maximumSize) else {
            throw fail(.unsigned, "is not signed (no \(MSIXPackage.signatureName) in the package folder)")
        }
        guard let blockMapBytes = try read(MSIXPackage.blockMapName, limit: Self.maximumBlockMapSize) else {
            throw fail(.malformed, "has no \(MSIXPackage.blockMapName)")
        }
        let signed = try AppxSignedData.parse(signature)
        let digests = try SignatureTrust.digests(of: signed.appxBlob)
        guard digests["AXBM"] == Self.hex(SHA256.hash(data: blockMapBytes)) else {
            throw fail(.digestMismatch, "\(MSIXPackage.blockMapName) is not the block map the signature covers (digest AXBM)")
        }
        let catalog = try read(MSIXPackage.codeIntegrityName, limit: Self.maximumBlockMapSize)
        if let expected = digests["AXCI"] {
            guard let catalog, expected == Self.hex(SHA256.hash(data: catalog)) else {
                throw fail(.digestMismatch, "\(MSIXPackage.codeIntegrityName) is missing or not the catalog the signature covers (digest AXCI)")
            }
        } else if catalog != nil {
            throw fail(.digestMismatch, "has \(MSIXPackage.codeIntegrityName), which the signature does not cover")
        }
        let blockMap: BlockMap
        do { blockMap = try BlockMap.parse(blockMapBytes) } catch { throw fail(.malformed, "\(MSIXPackage.blockMapName): \(error.message)") }
        var listed = Set<String>()
        for file in blockMap.files {
            let path = file.path
            guard listed.insert(path).inserted else { throw fail(.malformed, "\(MSIXPackage.blockMapName) lists \(path) twice") }
            try Self.checkBlocks(of: file, in: root, folder: folder)
        }
        // Nothing in the folder that the block map does not list.
        var pending = [""]
        while let directory = pending.popLast() {
            let names: [String]
            do { names = try root.list(directory) ?? [] } catch { throw fail(.malformed, "cannot list \(directory.isEmpty ? "the folder" : directory): \(error)") }
            for name in names {
                let path = directory.isEmpty ? name : directory + "/" + name
                let kind: ConfinedDirectory.Kind
                do { kind = try root.kind(of: path) } catch { throw fail(.malformed, "\(path): \(error)") }
                switch kind {
                case .directory: pending.append(path)
                case .regularFile:
                    guard listed.contains(path) || Self.footprint.contains(path) else {
                        throw fail(.digestMismatch, "\(path) is not in the signed block map: a file was added to the package")
                    }
                case .symbolicLink: throw fail(.malformed, "\(path) is a symbolic link; a package holds none")
                case .other, .missing: throw fail(.malformed, "\(path) is not a regular file or a directory")
                }
            }
        }
        return CheckedFiles(signature: signature, digests: digests)
    }

    /// Every 64 KiB block of `file` against the block map's SHA-256.
    static func checkBlocks(of file: BlockMap.File, in root: ConfinedDirectory, folder: String) throws(TrustError) {
        func fail(_ message: String) -> TrustError { TrustError(.digestMismatch, file: folder, message) }
        let opened: OpenFile?
        do { opened = try root.openRegularFile(file.path) } catch { throw fail("\(file.path): \(error)") }
        guard let opened else { throw fail("\(file.path), which the signed block map lists, is missing or not a regular file") }
        let size: UInt64
        do { size = try opened.size() } catch { throw fail("\(file.path): \(error)") }
        guard size == file.size else { throw fail("\(file.path) is \(size) bytes; the signed block map says \(file.size)") }
        let expectedBlocks = Int((file.size + blockSize - 1) / blockSize)
        guard file.blocks.count == expectedBlocks else {
            throw fail("\(MSIXPackage.blockMapName) gives \(file.path) \(file.blocks.count) blocks for \(file.size) bytes")
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(blockSize), alignment: 64)
        defer { buffer.deallocate() }
        for (index, block) in file.blocks.enumerated() {
            let offset = UInt64(index) * blockSize
            let count = Int(min(blockSize, file.size - offset))
            let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
            do { try opened.read(into: chunk, at: offset) } catch { throw fail("\(file.path): \(error)") }
            guard SHA256.hash(data: UnsafeRawBufferPointer(chunk)).elementsEqual(block.hash) else {
                throw fail("block \(index + 1) of \(file.path) does not match the SHA-256 in the signed block map")
            }
        }
    }

    static let blockSize: UInt64 = 64 << 10

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
