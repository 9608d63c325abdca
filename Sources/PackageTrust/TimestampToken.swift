import Crypto
import Foundation
import SwiftASN1
import X509

/// An RFC 3161 timestamp on a package signature: the unsigned attribute
/// `1.3.6.1.4.1.311.3.3.1` of the SignerInfo, a CMS SignedData whose content is a TSTInfo. A
/// time-stamping authority signed that the signature value (its hash, the message imprint)
/// existed at `genTime`; a signer's certificate that has expired since is judged at that time,
/// as Windows and osslsigncode do, once the token itself checks out.
struct TimestampToken {
    /// When the authority saw the signature.
    var time: Date
    /// The authority's certificate, and the others the token carries.
    var signer: Certificate
    var certificates: [Certificate]

    /// Reads the token on `signer` (nil when there is none) and checks what it says of itself:
    /// the imprint is the hash of `signer`'s signature value, `messageDigest` covers the
    /// TSTInfo, and the authority's signature over the signed attributes verifies. The chain of
    /// the authority's certificate is the caller's to check (`SignatureTrust`).
    static func read(on signer: AppxSignedData.SignerInfo) throws(TrustError) -> TimestampToken? {
        guard let values = signer.unsignedAttributes[SignatureOID.timeStampToken] else { return nil }
        func malformed(_ what: String) -> TrustError { TrustError(.malformed, "the signature's timestamp \(what)") }
        guard values.count == 1 else { throw malformed("attribute holds \(values.count) tokens") }
        let outer = values[0].children
        guard values[0].identifier == .sequence, outer.count == 2, outer[0].objectIdentifier == SignatureOID.signedData,
              outer[1].isContext(0), let signedData = outer[1].children.first, signedData.identifier == .sequence else {
            throw malformed("is not a CMS SignedData")
        }
        let fields = signedData.children
        guard fields.count >= 4, fields[2].identifier == .sequence, let signerInfos = fields.last, signerInfos.identifier == .set,
              signerInfos.children.count == 1 else {
            throw malformed("lacks its content or its one signer")
        }
        let content = fields[2].children
        guard content.count == 2, content[0].objectIdentifier == SignatureOID.tstInfo, content[1].isContext(0),
              let octets = content[1].children.first, octets.identifier == .octetString, let tstBytes = octets.primitiveBytes else {
            throw malformed("does not hold a TSTInfo")
        }
        let tstInfo: ASN1Node
        do { tstInfo = try DER.parse(tstBytes) } catch { throw malformed("TSTInfo is not DER: \(error)") }
        let info = tstInfo.children
        guard tstInfo.identifier == .sequence, info.count >= 5, info[2].identifier == .sequence, info[2].children.count == 2,
              let imprintAlgorithm = info[2].children[0].children.first?.objectIdentifier,
              let imprint = info[2].children[1].primitiveBytes else {
            throw malformed("TSTInfo lacks its message imprint")
        }
        guard let imprinted = digest(imprintAlgorithm, signer.signature), imprinted.elementsEqual(imprint) else {
            throw TrustError(.badSignature, "the signature's timestamp is not for this signature (message imprint)")
        }
        let time: Date
        do { time = try date(GeneralizedTime(derEncoded: info[4], withIdentifier: .generalizedTime)) } catch {
            throw malformed("TSTInfo has no readable genTime: \(error)")
        }
        var certificates: [Certificate] = []
        for field in fields[3..<(fields.count - 1)] where field.isContext(0) {
            certificates += field.children.compactMap { try? Certificate(derEncoded: Array($0.encodedBytes)) }
        }
        let tokenSigner = try AppxSignedData.signerInfo(signerInfos.children[0])
        guard let type = tokenSigner.attributes[SignatureOID.contentType], type.first?.objectIdentifier == SignatureOID.tstInfo,
              let digests = tokenSigner.attributes[SignatureOID.messageDigest], let expected = digests.first?.primitiveBytes,
              let actual = digest(tokenSigner.digestAlgorithm, Array(tstBytes)), actual.elementsEqual(expected) else {
            throw TrustError(.badSignature, "the signature's timestamp does not sign its TSTInfo (contentType, messageDigest)")
        }
        guard let authority = certificates.first(where: {
            $0.issuer == tokenSigner.issuer && $0.serialNumber.bytes.elementsEqual(tokenSigner.serialNumber)
        }) else {
            throw TrustError(.untrusted, "the signature's timestamp does not carry its authority's certificate")
        }
        let algorithm = try SignatureTrust.signatureAlgorithm(tokenSigner)
        guard authority.publicKey.isValidSignature(tokenSigner.signature, for: tokenSigner.signedAttributes, signatureAlgorithm: algorithm) else {
            throw TrustError(.badSignature, "the signature's timestamp does not verify with its authority's certificate")
        }
        return TimestampToken(time: time, signer: authority, certificates: certificates)
    }

    static func digest(_ algorithm: ASN1ObjectIdentifier, _ bytes: [UInt8]) -> [UInt8]? {
        switch algorithm {
        case SignatureOID.sha256: Array(SHA256.hash(data: bytes))
        case SignatureOID.sha384: Array(SHA384.hash(data: bytes))
        case SignatureOID.sha512: Array(SHA512.hash(data: bytes))
        default: nil
        }
    }

    static func date(_ time: GeneralizedTime) -> Date {
        var components = DateComponents()
        (components.year, components.month, components.day) = (time.year, time.month, time.day)
        (components.hour, components.minute, components.second) = (time.hours, time.minutes, time.seconds)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: components) ?? Date(timeIntervalSince1970: 0)
    }
}

/// What a time-stamping authority's certificate must be for: time stamping (RFC 3161 §2.3).
struct TimeStampingPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [.X509ExtensionID.extendedKeyUsage]

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        guard let usage = try? chain.leaf.extensions.extendedKeyUsage, usage.contains(.timeStamping) else {
            return .failsToMeetPolicy(reason: "the time-stamping authority's certificate is not for time stamping (extended key usage)")
        }
        return .meetsPolicy
    }
}
