import ZipArchive

/// What `MSIXPackage.verify` checked.
public struct VerificationReport: Codable, Sendable, Equatable {
    /// Files listed in the block map (payload plus AppxManifest.xml).
    public var fileCount: Int
    /// 64 KiB blocks listed (and hashed, when `hashesChecked`).
    public var blockCount: Int
    /// Uncompressed bytes of the listed files.
    public var uncompressedBytes: UInt64
    /// Whether every block's SHA-256 was computed and compared.
    public var hashesChecked: Bool
    /// Whether AppxSignature.p7x is present.
    public var signaturePresent: Bool
    /// Signature digests that were checked and matched (`AXBM`, `AXCT`, …).
    public var signatureDigestsChecked: [String]
}

extension MSIXPackage {
    /// Checks the package against its own metadata: the block map lists exactly the payload
    /// files with the right sizes, local header sizes and compressed block sizes, every part
    /// has a content type, every block matches its SHA-256 (with `hashes`), and the signature's
    /// digests match when it is signed. Throws the first fault as a one-line `MSIXError`.
    public func verify(hashes: Bool = true) throws(MSIXError) -> VerificationReport {
        let listed = try checkStructure()
        var digests: [String] = []
        do {
            if hashes {
                let verifier = BlockVerifier(package: self)
                for file in listed { try verifier.stream(file) { _ in } }
            }
            if let signature {
                digests = try SignatureDigests(package: self, signature: signature).check(includingArchive: hashes)
            }
        } catch {
            throw Self.asPackageError(error, path: path)
        }
        return VerificationReport(fileCount: listed.count, blockCount: listed.reduce(0) { $0 + $1.file.blocks.count },
                                  uncompressedBytes: listed.reduce(0) { $0 + $1.file.size }, hashesChecked: hashes,
                                  signaturePresent: signature != nil, signatureDigestsChecked: digests)
    }

    /// Any error from reading the package, as an `MSIXError` naming it.
    static func asPackageError(_ error: any Error, path: String) -> MSIXError {
        switch error {
        case let error as MSIXError: return error.file == nil ? error.naming(path) : error
        case let error as ZipError: return MSIXError(error)
        default: return MSIXError(.fileSystem, file: path, "\(error)")
        }
    }
}
