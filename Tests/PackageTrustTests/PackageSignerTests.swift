import Foundation
import MSIX
import Testing
import TestSupport
@testable import PackageTrust

/// Packages signed by `pack --sign`, checked by an independent verifier (osslsigncode, with the
/// test's CA as its only root) and by ours; refusals at signing time.
@Suite("signing packages as they are packed", .serialized,
       .enabled(if: TestCA.canSignMSIX, "needs openssl and osslsigncode 2.6 or later (MSIX verification)"))
struct PackageSignerTests {
    /// A directory holding a small Linux app whose manifest names `publisher`.
    static func appDirectory(in dir: String, publisher: String) throws -> String {
        let app = dir + "/app"
        try FileManager.default.createDirectory(atPath: app + "/bin", withIntermediateDirectories: true)
        try "#!/bin/sh\necho hello\n".write(toFile: app + "/bin/hello", atomically: true, encoding: .utf8)
        try String(repeating: "some data to compress ", count: 20_000).write(toFile: app + "/bin/data.txt", atomically: true, encoding: .utf8)
        try """
            <?xml version="1.0" encoding="utf-8"?>
            <Package xmlns="http://schemas.microsoft.com/appx/manifest/foundation/windows10" xmlns:uap="http://schemas.microsoft.com/appx/manifest/uap/windows10">
              <Identity Name="Signed.Hello" Publisher="\(publisher)" Version="1.0.0.0"/>
              <Properties><DisplayName>Hello</DisplayName><PublisherDisplayName>Test</PublisherDisplayName><Logo>bin/hello</Logo></Properties>
              <Dependencies><TargetDeviceFamily Name="Linux.All" MinVersion="0.0.0.0" MaxVersionTested="0.0.0.0"/></Dependencies>
              <Applications><Application Id="Hello" Executable="bin/hello"><uap:VisualElements DisplayName="Hello" Description="d"/></Application></Applications>
            </Package>
            """.write(toFile: app + "/AppxManifest.xml", atomically: true, encoding: .utf8)
        return app
    }

    @Test("pack --sign (RSA and P-256): osslsigncode verifies it against the CA; we trust it; every digest, AXPC and AXCD included, matches",
          arguments: [false, true])
    func signedByUs(ec: Bool) async throws {
        let ca = try TestCA()
        let signer = try ca.issue("leaf", subject: "/O=Test Org/CN=Signed Publisher", ec: ec)
        let app = try Self.appDirectory(in: ca.dir, publisher: "CN=Signed Publisher, O=Test Org")
        let output = ca.dir + "/signed.msix"
        var options = PackOptions()
        options.signer = try PackageSigner(keyFile: signer.key, certificateFile: signer.certificate)
        try PackagePacker.pack(directory: app, output: output, options: options)

        #expect(try ca.osslsigncodeVerifies(output), "osslsigncode verify -CAfile root.pem")
        let package = try MSIXPackage.open(output)
        let report = try package.verify()
        #expect(Set(report.signatureDigestsChecked) == ["AXPC", "AXCD", "AXCT", "AXBM"])
        let trusted = try await SignatureTrust(anchors: try TrustAnchors.load(ca.anchors)).check(package)
        #expect(trusted.subject == "CN=Signed Publisher, O=Test Org")
        #expect(try ca.osslsigncodeVerifies(output))
        // The signature is the last part.
        #expect(package.zip.entries.last?.name == MSIXPackage.signatureName)
    }

    @Test("the same directory and key give the same bytes (no signing time; RSA signatures are deterministic)")
    func reproducible() throws {
        let ca = try TestCA()
        let signer = try ca.issue("leaf", subject: "/CN=Signed Publisher")
        let app = try Self.appDirectory(in: ca.dir, publisher: "CN=Signed Publisher")
        var options = PackOptions()
        options.signer = try PackageSigner(keyFile: signer.key, certificateFile: signer.certificate)
        try PackagePacker.pack(directory: app, output: ca.dir + "/one.msix", options: options)
        try PackagePacker.pack(directory: app, output: ca.dir + "/two.msix", options: options)
        #expect(FileManager.default.contentsEqual(atPath: ca.dir + "/one.msix", andPath: ca.dir + "/two.msix"))
    }

    @Test("refused at signing: a manifest whose Publisher is not the certificate's subject; a key that is not the certificate's")
    func refusals() throws {
        let ca = try TestCA()
        let signer = try ca.issue("leaf", subject: "/CN=Signed Publisher")
        let other = try ca.issue("other", subject: "/CN=Signed Publisher")
        let app = try Self.appDirectory(in: ca.dir, publisher: "CN=Someone Else")
        var options = PackOptions()
        options.signer = try PackageSigner(keyFile: signer.key, certificateFile: signer.certificate)
        #expect {
            try PackagePacker.pack(directory: app, output: ca.dir + "/x.msix", options: options)
        } throws: { error in
            "\(error)".contains("Publisher \"CN=Someone Else\" is not the signing certificate's subject \"CN=Signed Publisher\"")
        }
        #expect(!FileManager.default.fileExists(atPath: ca.dir + "/x.msix"), "nothing written")
        #expect(throws: TrustError.self) { try PackageSigner(keyFile: other.key, certificateFile: signer.certificate) }
    }
}
