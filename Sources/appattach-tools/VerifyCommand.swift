import CommandSupport
import ArgumentParser
import Foundation
import LinuxSystem
import MSIX
import PackageTrust

/// `appattachctl verify PKG... [--trust system|DIR]`: checks each package's block map, hashes
/// and signature digests, and with `--trust` who signed it.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: PublishingCommands.abstract("verify"),
        discussion: """
            Checks the ZIP structure, that AppxBlockMap.xml lists exactly the payload files, the SHA-256 of every \
            64 KiB block, content types, the manifest's schema rules, and the signature's digests when signed. \
            With --trust, the package must be signed, and the signature is checked as a host does before it \
            stages the package: the PKCS#7 signature over the signed digests, the signer's certificate chain to \
            a trust anchor (the host's CA store with 'system', or the certificates in a directory), valid now \
            and made for code signing, and the manifest's Publisher equal to the signer's subject.
            """
    )

    @Argument(help: ArgumentHelp("Packages to verify.", valueName: "package"))
    var packages: [String]

    @Option(help: ArgumentHelp("Check the signer against these trust anchors: 'system' (the host's CA store) or a directory of certificates (PEM or DER).",
                               valueName: "system|dir"))
    var trust: String?

    func run() throws {
        let anchors = try trust.map { spec throws(TrustError) in try TrustAnchors.load(spec) }
        for path in packages {
            let package = try MSIXPackage.open(path)
            let report = try package.verify()
            var line = "\(path): OK (\(report.fileCount) files, \(report.blockCount) blocks, signature \(report.signaturePresent ? "present" : "absent"))"
            if let anchors {
                let signer = try ThreadExecutor.runBlocking { () async throws(TrustError) -> TrustedSigner in
                    try await SignatureTrust(anchors: anchors).check(package)
                }
                line += "; signed by \(signer.subject), trusted through \(signer.chain.dropFirst().joined(separator: " -> ").nonEmpty ?? "the signer's own certificate")"
            }
            print(line)
        }
    }
}

extension String {
    /// Nil when empty.
    var nonEmpty: String? { isEmpty ? nil : self }
}
