import SwiftASN1
import X509

/// `AppxSignature.p7x` read as what it is: `PKCX`, then a PKCS#7 SignedData whose content is a
/// SpcIndirectDataContent (PKCS#7 v1.5: the content is the SEQUENCE itself, not an OCTET
/// STRING, which is why swift-certificates' CMS types do not read it) holding the APPX digest
/// blob, the certificates, and one SignerInfo with signed attributes.
struct AppxSignedData {
    /// The certificates carried that parse; the others (1024-bit RSA keys, OIW algorithm ids)
    /// are skipped and counted.
    var certificates: [Certificate]
    var skippedCertificates: Int
    /// The contents octets of SpcIndirectDataContent: what `messageDigest` covers (RFC 2315).
    var indirectContent: [UInt8]
    /// The APPX blob of the DigestInfo: `APPX` and the digest records.
    var appxBlob: [UInt8]
    var signer: SignerInfo

    /// The one SignerInfo of an MSIX signature.
    struct SignerInfo {
        var issuer: DistinguishedName
        var serialNumber: ArraySlice<UInt8>
        var digestAlgorithm: ASN1ObjectIdentifier
        /// The signed attributes, DER, tagged as the SET the signature covers.
        var signedAttributes: [UInt8]
        /// Each signed attribute's values, by type.
        var attributes: [ASN1ObjectIdentifier: [ASN1Node]]
        var signatureAlgorithm: ASN1ObjectIdentifier
        var signature: [UInt8]
        /// Each unsigned attribute's values, by type (a timestamp token).
        var unsignedAttributes: [ASN1ObjectIdentifier: [ASN1Node]]
    }

    /// The largest p7x read: the MSIX SDK's own cap.
    static let maximumSize = 2 << 20

    static func parse(_ bytes: [UInt8]) throws(TrustError) -> AppxSignedData {
        guard bytes.count <= maximumSize else { throw malformed("is \(bytes.count) bytes; at most \(maximumSize)") }
        guard bytes.count > 4, bytes[0..<4].elementsEqual("PKCX".utf8) else { throw malformed("does not start with PKCX") }
        let root: ASN1Node
        do { root = try DER.parse(bytes[4...]) } catch { throw malformed("is not DER: \(error)") }
        let outer = root.children
        guard root.identifier == .sequence, outer.count >= 2, outer[0].objectIdentifier == SignatureOID.signedData,
              outer[1].isContext(0), let signedData = outer[1].children.first, signedData.identifier == .sequence else {
            throw malformed("is not a PKCS#7 SignedData")
        }
        let fields = signedData.children
        guard fields.count >= 4, fields[0].identifier == .integer, fields[1].identifier == .set, fields[2].identifier == .sequence,
              let signerInfos = fields.last, signerInfos.identifier == .set else {
            throw malformed("SignedData lacks its version, digest algorithms, content or signer infos")
        }
        let (indirectContent, blob) = try content(fields[2])
        var certificates: [Certificate] = []
        var skipped = 0
        for field in fields[3..<(fields.count - 1)] where field.isContext(0) {
            for node in field.children {
                if let certificate = try? Certificate(derEncoded: Array(node.encodedBytes)) {
                    certificates.append(certificate)
                } else {
                    skipped += 1
                }
            }
        }
        let signers = signerInfos.children
        guard signers.count == 1 else { throw malformed("has \(signers.count) signers; an MSIX signature has one") }
        return AppxSignedData(certificates: certificates, skippedCertificates: skipped, indirectContent: indirectContent,
                              appxBlob: blob, signer: try signerInfo(signers[0]))
    }

    /// The SpcIndirectDataContent: its contents octets, and the APPX blob in its DigestInfo.
    private static func content(_ contentInfo: ASN1Node) throws(TrustError) -> ([UInt8], [UInt8]) {
        let parts = contentInfo.children
        guard parts.count == 2, parts[0].objectIdentifier == SignatureOID.spcIndirectData, parts[1].isContext(0),
              let indirect = parts[1].children.first, indirect.identifier == .sequence else {
            throw malformed("content is not a SpcIndirectDataContent")
        }
        let members = indirect.children
        guard members.count == 2, members[0].identifier == .sequence,
              members[0].children.first?.objectIdentifier == SignatureOID.spcSipInfo,
              members[1].identifier == .sequence else {
            throw malformed("SpcIndirectDataContent is not the SIP info and digest of a package")
        }
        let digestInfo = members[1].children
        guard digestInfo.count == 2, digestInfo[1].identifier == .octetString, let blob = digestInfo[1].primitiveBytes,
              blob.starts(with: "APPX".utf8) else {
            throw malformed("SpcIndirectDataContent holds no APPX digest blob")
        }
        return (indirect.contentsOctets, Array(blob))
    }

    static func signerInfo(_ node: ASN1Node) throws(TrustError) -> SignerInfo {
        let fields = node.children
        guard node.identifier == .sequence, fields.count >= 5, fields[0].identifier == .integer,
              fields[1].identifier == .sequence, fields[1].children.count == 2,
              let serial = fields[1].children[1].primitiveBytes, fields[1].children[1].identifier == .integer,
              let digestAlgorithm = fields[2].children.first?.objectIdentifier else {
            throw malformed("SignerInfo is not issuer, serial number and digest algorithm")
        }
        let issuer: DistinguishedName
        do { issuer = try DistinguishedName(derEncoded: fields[1].children[0]) } catch {
            throw malformed("SignerInfo's issuer is not a name: \(error)")
        }
        var index = 3
        guard fields[index].isContext(0) else { throw malformed("SignerInfo has no signed attributes") }
        var signedAttributes = Array(fields[index].encodedBytes)
        signedAttributes[0] = 0x31  // [0] IMPLICIT SET OF → the SET the signature covers
        let attributes = try attributeMap(fields[index])
        index += 1
        guard index < fields.count,
              let signatureAlgorithm = fields[index].children.first?.objectIdentifier else {
            throw malformed("SignerInfo has no signature algorithm")
        }
        index += 1
        guard index < fields.count, fields[index].identifier == .octetString, let signature = fields[index].primitiveBytes else {
            throw malformed("SignerInfo has no signature")
        }
        index += 1
        let unsigned = index < fields.count && fields[index].isContext(1) ? try attributeMap(fields[index]) : [:]
        return SignerInfo(issuer: issuer, serialNumber: serial, digestAlgorithm: digestAlgorithm,
                          signedAttributes: signedAttributes, attributes: attributes,
                          signatureAlgorithm: signatureAlgorithm, signature: Array(signature), unsignedAttributes: unsigned)
    }

    /// Attributes (`SEQUENCE { type, SET OF value }`) by type.
    private static func attributeMap(_ node: ASN1Node) throws(TrustError) -> [ASN1ObjectIdentifier: [ASN1Node]] {
        var map: [ASN1ObjectIdentifier: [ASN1Node]] = [:]
        for attribute in node.children {
            let parts = attribute.children
            guard attribute.identifier == .sequence, parts.count == 2, let type = parts[0].objectIdentifier, parts[1].identifier == .set else {
                throw malformed("has an attribute that is not a type and a set of values")
            }
            guard map[type] == nil else { throw malformed("has attribute \(type) twice") }
            map[type] = parts[1].children
        }
        return map
    }

    static func malformed(_ what: String) -> TrustError {
        TrustError(.malformed, "AppxSignature.p7x \(what)")
    }
}
