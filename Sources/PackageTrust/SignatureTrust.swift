import Crypto
import Foundation
import MSIX
import SwiftASN1
@_spi(FixedExpiryValidationTime) import X509

/// Who signed a package, once `SignatureTrust` has checked it.
public struct TrustedSigner: Sendable, Equatable, Codable {
    /// The signer's subject as a Publisher string (`CN=Contoso, O=Contoso Corporation, C=US`).
    public var subject: String
    /// The chain from the signer to the trust anchor, as Publisher strings, signer first.
    public var chain: [String]
    /// When the chain was checked for validity: the signature's timestamp, or the check's time.
    public var validatedAt: Date
    /// The time-stamping authority whose timestamp set `validatedAt`, when there is one.
    public var timestampedBy: String?
}

/// Checks an MSIX package's signature as a host that trusts `anchors` must before it runs
/// anything from the package: the signed APPX digests are those `MSIXPackage.verify` checked
/// against the package's files; `messageDigest` covers the signed content; the signer's
/// signature over the signed attributes verifies with its certificate; that certificate chains
/// to a trust anchor, valid now and made for code signing; and the manifest's Publisher is the
/// signer's subject, exactly (Windows refuses a package otherwise).
///
/// The order is the one a reader of the errors needs: what is wrong with the package itself
/// first, then who signed it.
public struct SignatureTrust: Sendable {
    public let anchors: TrustAnchors
    /// The time certificates must be valid at (nil: now).
    public let validationTime: Date?

    public init(anchors: TrustAnchors, validationTime: Date? = nil) {
        self.anchors = anchors
        self.validationTime = validationTime
    }

    /// Checks `package`, whose digests `MSIXPackage.verify` has already compared with its files.
    public func check(_ package: MSIXPackage) async throws(TrustError) -> TrustedSigner {
        guard let part = package.part(MSIXPackage.signatureName), let digests = package.signature?.digests else {
            throw TrustError(.unsigned, file: package.path, "is not signed (no AppxSignature.p7x); a host that requires signatures refuses it")
        }
        let bytes: [UInt8]
        do { bytes = try package.zip.contents(of: part.entry, limit: UInt64(AppxSignedData.maximumSize)) } catch {
            throw TrustError(.malformed, file: package.path, "cannot read AppxSignature.p7x: \(error)")
        }
        do {
            return try await check(signatureBytes: bytes, verifiedDigests: digests, publisher: package.manifest.identity.publisher)
        } catch {
            throw error.file == nil ? error.naming(package.path) : error
        }
    }

    /// The checks on the p7x bytes, given the digests already compared with the package and
    /// the manifest's Publisher.
    func check(signatureBytes: [UInt8], verifiedDigests: [String: String], publisher: String) async throws(TrustError) -> TrustedSigner {
        let signed = try AppxSignedData.parse(signatureBytes)
        let signedDigests = try Self.digests(of: signed.appxBlob)
        guard signedDigests == verifiedDigests else {
            throw TrustError(.digestMismatch, "the digests AppxSignature.p7x signs are not the ones checked against the package")
        }
        let signer = signed.signer
        try Self.checkMessageDigest(signed)
        guard let certificate = signed.certificates.first(where: {
            $0.issuer == signer.issuer && $0.serialNumber.bytes.elementsEqual(signer.serialNumber)
        }) else {
            let skipped = signed.skippedCertificates > 0 ? " (\(signed.skippedCertificates) certificate(s) could not be read: keys under 2048 bits or obsolete algorithms)" : ""
            throw TrustError(.untrusted, "the signer's certificate (issued by \((try? PublisherName.string(signer.issuer)) ?? "\(signer.issuer)")) is not in the signature\(skipped)")
        }
        let algorithm = try Self.signatureAlgorithm(signer)
        guard certificate.publicKey.isValidSignature(signer.signature, for: signer.signedAttributes, signatureAlgorithm: algorithm) else {
            throw TrustError(.badSignature, "the signature does not verify with the signer's certificate: the signed attributes were changed, or it was made with another key")
        }
        let subject = (try? PublisherName.string(certificate.subject)) ?? "\(certificate.subject)"
        // A timestamp from a trusted authority says when the signature was made: the signer's
        // certificate is judged at that time (it may have expired since).
        var time = validationTime ?? Date()
        var authority: String?
        if let token = try TimestampToken.read(on: signer) {
            try await Self.checkAuthority(token, anchors: anchors)
            time = token.time
            authority = (try? PublisherName.string(token.signer.subject)) ?? "\(token.signer.subject)"
        }
        let chain = try await Self.chain(certificate, intermediates: signed.certificates, anchors: anchors, at: time, subject: subject)
        guard subject == publisher else {
            throw TrustError(.publisherMismatch, "the manifest's Publisher \"\(publisher)\" is not the signer's subject \"\(subject)\" (they must be equal, case and spaces included)")
        }
        return TrustedSigner(subject: subject, chain: chain.map { (try? PublisherName.string($0.subject)) ?? "\($0.subject)" },
                             validatedAt: time, timestampedBy: authority)
    }

    /// The APPX blob's records, by tag, as lower-case hex (as `PackageSignature` reads them).
    static func digests(of blob: [UInt8]) throws(TrustError) -> [String: String] {
        var digests: [String: String] = [:]
        var position = 4
        while position < blob.count {
            guard position + 36 <= blob.count else { throw TrustError(.malformed, "AppxSignature.p7x has a truncated APPX digest record") }
            let tag = String(decoding: blob[position..<(position + 4)], as: UTF8.self)
            digests[tag] = blob[(position + 4)..<(position + 36)].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
            position += 36
        }
        return digests
    }

    /// `messageDigest` must be the hash of the SpcIndirectDataContent's contents, and
    /// `contentType` must say that is what was signed.
    static func checkMessageDigest(_ signed: AppxSignedData) throws(TrustError) {
        let signer = signed.signer
        guard let type = signer.attributes[SignatureOID.contentType], type.count == 1,
              type[0].objectIdentifier == SignatureOID.spcIndirectData else {
            throw TrustError(.malformed, "AppxSignature.p7x's signed attributes do not say that a package's digests were signed (contentType)")
        }
        guard let values = signer.attributes[SignatureOID.messageDigest], values.count == 1,
              values[0].identifier == .octetString, let expected = values[0].primitiveBytes else {
            throw TrustError(.malformed, "AppxSignature.p7x has no messageDigest attribute")
        }
        let actual: [UInt8]
        switch signer.digestAlgorithm {
        case SignatureOID.sha256: actual = Array(SHA256.hash(data: signed.indirectContent))
        case SignatureOID.sha384: actual = Array(SHA384.hash(data: signed.indirectContent))
        case SignatureOID.sha512: actual = Array(SHA512.hash(data: signed.indirectContent))
        default: throw TrustError(.malformed, "AppxSignature.p7x uses digest algorithm \(signer.digestAlgorithm), not SHA-256, -384 or -512")
        }
        guard actual.elementsEqual(expected) else {
            throw TrustError(.digestMismatch, "AppxSignature.p7x's messageDigest does not match the signed package digests")
        }
    }

    /// The algorithm the SignerInfo names, with its digest.
    static func signatureAlgorithm(_ signer: AppxSignedData.SignerInfo) throws(TrustError) -> Certificate.SignatureAlgorithm {
        switch (signer.signatureAlgorithm, signer.digestAlgorithm) {
        case (SignatureOID.rsaEncryption, SignatureOID.sha256), (SignatureOID.sha256WithRSA, _): return .sha256WithRSAEncryption
        case (SignatureOID.rsaEncryption, SignatureOID.sha384), (SignatureOID.sha384WithRSA, _): return .sha384WithRSAEncryption
        case (SignatureOID.rsaEncryption, SignatureOID.sha512), (SignatureOID.sha512WithRSA, _): return .sha512WithRSAEncryption
        case (SignatureOID.ecdsaWithSHA256, _), (SignatureOID.ecPublicKey, SignatureOID.sha256): return .ecdsaWithSHA256
        case (SignatureOID.ecdsaWithSHA384, _), (SignatureOID.ecPublicKey, SignatureOID.sha384): return .ecdsaWithSHA384
        case (SignatureOID.ecdsaWithSHA512, _), (SignatureOID.ecPublicKey, SignatureOID.sha512): return .ecdsaWithSHA512
        default:
            throw TrustError(.malformed, "AppxSignature.p7x uses signature algorithm \(signer.signatureAlgorithm) with \(signer.digestAlgorithm), which is not RSA or ECDSA with SHA-2")
        }
    }

    /// The time-stamping authority's chain to one of `anchors`, valid at the time it stamped,
    /// for time stamping.
    static func checkAuthority(_ token: TimestampToken, anchors: TrustAnchors) async throws(TrustError) {
        var verifier = Verifier(rootCertificates: CertificateStore(anchors.certificates)) {
            RFC5280Policy(fixedExpiryValidationTime: token.time)
            TimeStampingPolicy()
        }
        if case .couldNotValidate(let failures) = await verifier.validate(leaf: token.signer, intermediates: CertificateStore(token.certificates)) {
            let reasons = Set(failures.map { $0.policyFailureReason.description }).sorted()
            let name = (try? PublisherName.string(token.signer.subject)) ?? "\(token.signer.subject)"
            throw TrustError(.untrusted, "the signature's timestamp is by \"\(name)\", which is not trusted: \(reasons.isEmpty ? "no chain to a certificate in \(anchors.source)" : reasons.joined(separator: "; "))")
        }
    }

    /// The chain from `leaf` to one of `anchors`, valid at `time`, for code signing.
    static func chain(_ leaf: Certificate, intermediates: [Certificate], anchors: TrustAnchors, at time: Date,
                      subject: String) async throws(TrustError) -> [Certificate] {
        // A publisher's own certificate among the anchors (Windows' Trusted People): trusted
        // as it is, once it is valid at `time` and made for code signing.
        if anchors.certificates.contains(leaf) {
            guard leaf.notValidBefore <= time, time <= leaf.notValidAfter else {
                throw TrustError(.untrusted, "the signer \"\(subject)\" is not trusted: its certificate is valid from \(leaf.notValidBefore) to \(leaf.notValidAfter), not at \(time) (expired or not yet valid)")
            }
            if let problem = CodeSigningPolicy.problem(leaf) {
                throw TrustError(.untrusted, "the signer \"\(subject)\" is not trusted: \(problem)")
            }
            return [leaf]
        }
        var verifier = Verifier(rootCertificates: CertificateStore(anchors.certificates)) {
            RFC5280Policy(fixedExpiryValidationTime: time)
            CodeSigningPolicy()
        }
        switch await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates)) {
        case .validCertificate(let chain):
            return Array(chain)
        case .couldNotValidate(let failures):
            let reasons = Set(failures.map { $0.policyFailureReason.description }).sorted()
            let why = reasons.isEmpty
                ? "no chain from it to a certificate in \(anchors.source) (issuer \((try? PublisherName.string(leaf.issuer)) ?? "\(leaf.issuer)") unknown there)"
                : reasons.joined(separator: "; ")
            throw TrustError(.untrusted, "the signer \"\(subject)\" is not trusted: \(why)")
        }
    }
}
