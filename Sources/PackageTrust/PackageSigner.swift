import Crypto
import _CryptoExtras
import Foundation
import MSIX
import SwiftASN1
import X509

/// Signs packages with a private key and its certificate (PEM files), as `signtool` and
/// `osslsigncode` do: `AppxSignature.p7x` is `PKCX` and a PKCS#7 SignedData over a
/// SpcIndirectDataContent holding the APPX digests, with the certificates given and the signed
/// attributes signtool writes (content type, message digest, individual code signing, an empty
/// opus info), and no signing time, so the same package and key give the same signature.
public struct PackageSigner: PackageSigning {
    public let certificate: Certificate
    /// More certificates to carry (intermediate CAs), so a host needs only the root.
    public let chain: [Certificate]
    private let key: Certificate.PrivateKey
    public let publisher: String

    /// The package SIP's GUID, {0AC5DF4B-CE07-4DE2-B76E-23C839A09FD1}, as a signature stores it.
    static let packageSIP: [UInt8] = [0x4B, 0xDF, 0xC5, 0x0A, 0x07, 0xCE, 0xE2, 0x4D, 0xB7, 0x6E, 0x23, 0xC8, 0x39, 0xA0, 0x9F, 0xD1]

    /// Reads the key (PKCS#8, RSA or EC PEM) and the certificate file (PEM: the signer's
    /// certificate first, then any intermediates); the key must be the certificate's.
    public init(keyFile: String, certificateFile: String) throws(TrustError) {
        guard let keyText = try? String(contentsOfFile: keyFile, encoding: .utf8) else {
            throw TrustError(.anchors, file: keyFile, "cannot read the signing key")
        }
        do { key = try Certificate.PrivateKey(pemEncoded: keyText) } catch {
            throw TrustError(.anchors, file: keyFile, "is not a private key in PEM (PKCS#8, RSA or EC): \(error)")
        }
        guard let data = FileManager.default.contents(atPath: certificateFile) else {
            throw TrustError(.anchors, file: certificateFile, "cannot read the certificate")
        }
        let certificates = TrustAnchors.certificates(in: Array(data))
        guard let first = certificates.first else {
            throw TrustError(.anchors, file: certificateFile, "holds no certificate (PEM or DER)")
        }
        guard first.publicKey == key.publicKey else {
            throw TrustError(.anchors, file: keyFile, "is not the key of the certificate in \(certificateFile)")
        }
        certificate = first
        chain = Array(certificates.dropFirst())
        do { publisher = try PublisherName.string(first.subject) } catch {
            throw TrustError(.anchors, file: certificateFile, "has a subject that cannot be read: \(error)")
        }
    }

    public func signature(for blob: [UInt8]) throws -> [UInt8] {
        let indirect = try Self.indirectContent(blob)
        // messageDigest covers the contents octets of the SpcIndirectDataContent SEQUENCE.
        let indirectNode = try DER.parse(indirect)
        let digest = Array(SHA256.hash(data: indirectNode.contentsOctets))
        let attributes = try Self.signedAttributes(digest: digest)
        var set = DER.Serializer()
        try set.appendConstructedNode(identifier: .set) { $0.serializeRawBytes(attributes) }
        let algorithm: Certificate.SignatureAlgorithm
        let signerAlgorithm: ASN1ObjectIdentifier
        if P256.Signing.PublicKey(key.publicKey) != nil {
            (algorithm, signerAlgorithm) = (.ecdsaWithSHA256, SignatureOID.ecdsaWithSHA256)
        } else if _RSA.Signing.PublicKey(key.publicKey) != nil {
            (algorithm, signerAlgorithm) = (.sha256WithRSAEncryption, SignatureOID.rsaEncryption)
        } else {
            throw TrustError(.anchors, "the signing key is neither RSA nor P-256")
        }
        let signature = try key.sign(bytes: set.serializedBytes, signatureAlgorithm: algorithm).rawRepresentation

        var out = DER.Serializer()
        try out.appendConstructedNode(identifier: .sequence) { info in
            try info.serialize(SignatureOID.signedData)
            try info.appendConstructedNode(identifier: Self.context(0)) { explicit in
                try explicit.appendConstructedNode(identifier: .sequence) { signed in
                    try signed.serialize(1)
                    try signed.appendConstructedNode(identifier: .set) { try Self.sha256Algorithm(&$0) }
                    try signed.appendConstructedNode(identifier: .sequence) { content in
                        try content.serialize(SignatureOID.spcIndirectData)
                        try content.appendConstructedNode(identifier: Self.context(0)) { $0.serializeRawBytes(indirect) }
                    }
                    var certificates: [[UInt8]] = []
                    for certificate in [self.certificate] + self.chain {
                        var one = DER.Serializer()
                        try one.serialize(certificate)
                        certificates.append(one.serializedBytes)
                    }
                    try signed.appendConstructedNode(identifier: Self.context(0)) { set in
                        for bytes in certificates.sorted(by: { $0.lexicographicallyPrecedes($1) }) { set.serializeRawBytes(bytes) }
                    }
                    try signed.appendConstructedNode(identifier: .set) { infos in
                        try infos.appendConstructedNode(identifier: .sequence) { signer in
                            try signer.serialize(1)
                            try signer.appendConstructedNode(identifier: .sequence) { issuer in
                                try issuer.serialize(self.certificate.issuer)
                                issuer.appendPrimitiveNode(identifier: .integer) { $0.append(contentsOf: self.certificate.serialNumber.bytes) }
                            }
                            try Self.sha256Algorithm(&signer)
                            try signer.appendConstructedNode(identifier: Self.context(0)) { $0.serializeRawBytes(attributes) }
                            try signer.appendConstructedNode(identifier: .sequence) { id in
                                try id.serialize(signerAlgorithm)
                                if signerAlgorithm == SignatureOID.rsaEncryption { try id.serialize(ASN1Null()) }
                            }
                            try signer.serialize(ASN1OctetString(contentBytes: signature[...]))
                        }
                    }
                }
            }
        }
        return Array("PKCX".utf8) + out.serializedBytes
    }

    /// SpcIndirectDataContent: the package SIP's info, and the blob as the digest.
    static func indirectContent(_ blob: [UInt8]) throws -> [UInt8] {
        var out = DER.Serializer()
        try out.appendConstructedNode(identifier: .sequence) { content in
            try content.appendConstructedNode(identifier: .sequence) { sip in
                try sip.serialize(SignatureOID.spcSipInfo)
                try sip.appendConstructedNode(identifier: .sequence) { info in
                    try info.serialize(0x0101_0000)
                    try info.serialize(ASN1OctetString(contentBytes: packageSIP[...]))
                    for _ in 0..<5 { try info.serialize(0) }
                }
            }
            try content.appendConstructedNode(identifier: .sequence) { digest in
                try sha256Algorithm(&digest)
                try digest.serialize(ASN1OctetString(contentBytes: blob[...]))
            }
        }
        return out.serializedBytes
    }

    /// The signed attributes, each DER-encoded, in DER's SET OF order, concatenated.
    static func signedAttributes(digest: [UInt8]) throws -> [UInt8] {
        func attribute(_ type: ASN1ObjectIdentifier, _ value: (inout DER.Serializer) throws -> Void) throws -> [UInt8] {
            var out = DER.Serializer()
            try out.appendConstructedNode(identifier: .sequence) { attribute in
                try attribute.serialize(type)
                try attribute.appendConstructedNode(identifier: .set) { try value(&$0) }
            }
            return out.serializedBytes
        }
        let attributes = [
            try attribute(SignatureOID.spcSpOpusInfo) { try $0.appendConstructedNode(identifier: .sequence) { _ in } },
            try attribute(SignatureOID.contentType) { try $0.serialize(SignatureOID.spcIndirectData) },
            try attribute(SignatureOID.spcStatementType) {
                try $0.appendConstructedNode(identifier: .sequence) { try $0.serialize(SignatureOID.spcIndividualCodeSigning) }
            },
            try attribute(SignatureOID.messageDigest) { try $0.serialize(ASN1OctetString(contentBytes: digest[...])) },
        ]
        return attributes.sorted { $0.lexicographicallyPrecedes($1) }.flatMap { $0 }
    }

    static func sha256Algorithm(_ out: inout DER.Serializer) throws {
        try out.appendConstructedNode(identifier: .sequence) {
            try $0.serialize(SignatureOID.sha256)
            try $0.serialize(ASN1Null())
        }
    }

    static func context(_ number: UInt) -> ASN1Identifier {
        ASN1Identifier(tagWithNumber: number, tagClass: .contextSpecific)
    }
}
