import Foundation
import MSIX
import Testing
import TestSupport
@testable import PackageTrust

/// Signatures made by osslsigncode (an independent signer) with a CA made in the test, checked
/// by `SignatureTrust`; and the refusals a host must make, each with its reason. osslsigncode's
/// own verdict is asked beside ours where it checks the same thing.
@Suite("package signatures and publisher trust", .serialized,
       .enabled(if: TestCA.canSignMSIX, "needs openssl and osslsigncode 2.6 or later (MSIX signing)"))
struct SignatureTrustTests {
    static let fixture = TestEnvironment.msixFixtures + "/TestLinux.msix"
    /// The fixture's manifest says `Publisher="CN=awesomepublisher"`.
    static let publisher = "CN=awesomepublisher"

    func check(_ path: String, anchors: String, at time: Date? = nil) async throws -> Result<TrustedSigner, TrustError> {
        let package = try MSIXPackage.open(path)
        _ = try package.verify()
        do {
            return .success(try await SignatureTrust(anchors: try TrustAnchors.load(anchors), validationTime: time).check(package))
        } catch {
            return .failure(error)
        }
    }

    @Test("signed by osslsigncode with a code-signing certificate of a trusted CA (RSA and P-256): trusted, the chain named; osslsigncode agrees",
          arguments: [false, true])
    func trusted(ec: Bool) async throws {
        let ca = try TestCA()
        let signer = try ca.issue("leaf", subject: "/CN=awesomepublisher", ec: ec)
        let signed = ca.dir + "/signed.msix"
        try ca.sign(Self.fixture, with: signer, to: signed)
        #expect(try ca.osslsigncodeVerifies(signed))
        let result = try await check(signed, anchors: ca.anchors)
        let trusted = try result.get()
        #expect(trusted.subject == Self.publisher)
        #expect(trusted.chain == [Self.publisher, "CN=appattach test root"])
    }

    @Test("the signer's own certificate as the only anchor (a pinned publisher): trusted")
    func pinnedSigner() async throws {
        let ca = try TestCA()
        let signer = try ca.issue("leaf", subject: "/CN=awesomepublisher")
        try FileManager.default.createDirectory(atPath: ca.dir + "/pinned", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: signer.certificate, toPath: ca.dir + "/pinned/publisher.pem")
        try ca.sign(Self.fixture, with: signer, to: ca.dir + "/signed.msix")
        #expect(try await check(ca.dir + "/signed.msix", anchors: ca.dir + "/pinned").get().subject == Self.publisher)
    }

    @Test("refused, each with its reason: another CA, a server certificate, another publisher, expired, unsigned")
    func refusals() async throws {
        let ca = try TestCA()
        let other = try TestCA(name: "someone else's root")
        let cases: [(String, (certificate: String, key: String)?, String, Date?, TrustError.Kind, String)] = [
            ("untrusted CA", try ca.issue("a", subject: "/CN=awesomepublisher"), other.anchors, nil, .untrusted, "is not trusted: no chain"),
            ("server certificate", try ca.issue("b", subject: "/CN=awesomepublisher", extensions: ["keyUsage=critical,digitalSignature", "extendedKeyUsage=serverAuth"]),
             ca.anchors, nil, .untrusted, "not for code signing"),
            ("another publisher", try ca.issue("c", subject: "/CN=someoneelse"), ca.anchors, nil, .publisherMismatch,
             "Publisher \"CN=awesomepublisher\" is not the signer's subject \"CN=someoneelse\""),
            ("expired", try ca.issue("d", subject: "/CN=awesomepublisher", days: 30), ca.anchors, Date().addingTimeInterval(400 * 86_400),
             .untrusted, "expired"),
            ("unsigned", nil, ca.anchors, nil, .unsigned, "is not signed"),
        ]
        for (label, signer, anchors, time, kind, text) in cases {
            var path = Self.fixture
            if let signer {
                path = ca.dir + "/\(label.replacingOccurrences(of: " ", with: "-")).msix"
                try ca.sign(Self.fixture, with: signer, to: path)
            }
            switch try await check(path, anchors: anchors, at: time) {
            case .success(let signer): Issue.record("\(label): trusted as \(signer)")
            case .failure(let error):
                #expect(error.kind == kind, "\(label): \(error)")
                #expect(error.description.contains(text), "\(label): \(error)")
                #expect(error.description.hasPrefix(path + ": "), "names the package: \(error)")
                #expect(!error.description.contains("\n"))
            }
        }
        // osslsigncode refuses the first two too (it does not compare the publisher).
        #expect(try !other.osslsigncodeVerifies(ca.dir + "/untrusted-CA.msix"))
        #expect(try !ca.osslsigncodeVerifies(ca.dir + "/server-certificate.msix"))
    }

    @Test("timestamped by a trusted authority: a signer that has expired since is judged at the timestamp; by an untrusted one: refused (osslsigncode agrees on the first)")
    func timestamped() async throws {
        let ca = try TestCA()
        let other = try TestCA(name: "someone else's root")
        let signer = try ca.issue("leaf", subject: "/CN=awesomepublisher", days: 30)
        let later = Date().addingTimeInterval(400 * 86_400)
        let stamped = ca.dir + "/stamped.msix"
        try ca.sign(Self.fixture, with: signer, timestampedBy: try ca.issueTimeStampingAuthority("tsa"), to: stamped)
        #expect(try TestEnvironment.run(["osslsigncode", "verify", "-CAfile", ca.anchors + "/root.pem", "-TSA-CAfile", ca.anchors + "/root.pem",
                                         "-ignore-crl", "-in", stamped]).status == 0)
        let trusted = try await check(stamped, anchors: ca.anchors, at: later).get()
        #expect(trusted.timestampedBy == "CN=appattach test root TSA")
        #expect(abs(trusted.validatedAt.timeIntervalSinceNow) < 600, "judged at the timestamp, not at \(later): \(trusted.validatedAt)")

        let foreign = ca.dir + "/foreign-stamp.msix"
        try ca.sign(Self.fixture, with: signer, timestampedBy: try other.issueTimeStampingAuthority("tsa"), to: foreign)
        switch try await check(foreign, anchors: ca.anchors, at: later) {
        case .success(let signer): Issue.record("trusted through an untrusted authority: \(signer)")
        case .failure(let error):
            #expect(error.kind == .untrusted && error.message.contains("timestamp is by \"CN=someone else's root TSA\""), "\(error)")
        }
    }

    @Test("a changed signature or signed attributes: the signature does not verify; a changed digest blob: messageDigest mismatch")
    func tamperedSignature() async throws {
        let ca = try TestCA()
        let signed = ca.dir + "/signed.msix"
        try ca.sign(Self.fixture, with: try ca.issue("leaf", subject: "/CN=awesomepublisher"), to: signed)
        let package = try MSIXPackage.open(signed)
        let part = try #require(package.part(MSIXPackage.signatureName))
        let bytes = try package.zip.contents(of: part.entry)
        let digests = try #require(package.signature?.digests)
        let trust = SignatureTrust(anchors: try TrustAnchors.load(ca.anchors))

        // The signature value is the last field (no timestamp): its last byte flipped.
        var changed = bytes
        changed[changed.count - 1] ^= 0x01
        let bad = await Self.refusal { () async throws(TrustError) in try await trust.check(signatureBytes: changed, verifiedDigests: digests, publisher: Self.publisher) }
        #expect(bad?.kind == .badSignature, "\(String(describing: bad))")

        // A byte of the APPX blob changed (in the AXBM digest): the digests signed are not
        // the ones checked against the package; and were they taken as such, messageDigest
        // no longer matches the signed content.
        let appx = try #require(Self.find(Array("APPX".utf8), in: bytes))
        let axbm = try #require(Self.find(Array("AXBM".utf8), in: bytes))
        changed = bytes
        changed[axbm + 4] ^= 0x01
        let notChecked = await Self.refusal { [changed] () async throws(TrustError) in try await trust.check(signatureBytes: changed, verifiedDigests: digests, publisher: Self.publisher) }
        #expect(notChecked?.kind == .digestMismatch && notChecked?.message.contains("not the ones checked") == true, "\(String(describing: notChecked))")
        let changedDigests = try SignatureTrust.digests(of: Array(changed[appx..<(appx + 4 + 36 * digests.count)]))
        #expect(changedDigests != digests)
        let unsigned = await Self.refusal { [changed] () async throws(TrustError) in try await trust.check(signatureBytes: changed, verifiedDigests: changedDigests, publisher: Self.publisher) }
        #expect(unsigned?.kind == .digestMismatch && unsigned?.message.contains("messageDigest") == true, "\(String(describing: unsigned))")
    }

    @Test("a payload byte changed after signing: verify refuses it before any trust question (osslsigncode agrees)")
    func tamperedPayload() async throws {
        let ca = try TestCA()
        let signed = ca.dir + "/signed.msix"
        try ca.sign(Self.fixture, with: try ca.issue("leaf", subject: "/CN=awesomepublisher"), to: signed)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: signed)))
        bytes[45] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: signed))
        #expect(try !ca.osslsigncodeVerifies(signed))
        #expect(throws: MSIXError.self) { _ = try MSIXPackage.open(signed).verify() }
    }

    @Test("publisher strings as Windows writes them: reverse order, S for ST, quoting")
    func publisherStrings() throws {
        let ca = try TestCA()
        let signer = try ca.issue("leaf", subject: "/C=US/ST=Washington/L=Redmond/O=Contoso, Inc./CN=Contoso")
        let anchors = try TrustAnchors.load(signer.certificate)
        let subject = try PublisherName.string(try #require(anchors.certificates.first).subject)
        #expect(subject == "CN=Contoso, O=\"Contoso, Inc.\", L=Redmond, S=Washington, C=US")
    }

    @Test("trust anchors: a directory without certificates, a missing one")
    func anchorErrors() throws {
        let ca = try TestCA()
        try FileManager.default.createDirectory(atPath: ca.dir + "/empty", withIntermediateDirectories: true)
        try "not a certificate".write(toFile: ca.dir + "/empty/x.pem", atomically: true, encoding: .utf8)
        #expect(throws: TrustError.self) { try TrustAnchors.load(ca.dir + "/empty") }
        #expect(throws: TrustError.self) { try TrustAnchors.load(ca.dir + "/missing") }
        #expect(try TrustAnchors.load("system").certificates.count > 10)
    }

    /// The error `work` throws, or nil when it trusts.
    static func refusal(_ work: () async throws(TrustError) -> TrustedSigner) async -> TrustError? {
        do { _ = try await work(); return nil } catch { return error }
    }

    static func find(_ needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        return (0...(bytes.count - needle.count)).first { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
