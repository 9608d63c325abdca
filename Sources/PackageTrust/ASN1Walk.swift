import SwiftASN1

/// Small helpers for walking DER by hand where no library type fits (the PKCS#7 v1.5 shapes of
/// an MSIX signature, which swift-certificates' CMS types do not read).
extension ASN1Node {
    /// The children of a constructed node; a primitive node has none.
    var children: [ASN1Node] {
        guard case .constructed(let nodes) = content else { return [] }
        return Array(nodes)
    }

    /// The contents octets of a primitive node.
    var primitiveBytes: ArraySlice<UInt8>? {
        guard case .primitive(let bytes) = content else { return nil }
        return bytes
    }

    /// The contents octets of a constructed node: its children's encodings, in order (DER has
    /// no indefinite lengths, so this is exactly what follows the tag and length).
    var contentsOctets: [UInt8] {
        switch content {
        case .primitive(let bytes): return Array(bytes)
        case .constructed(let nodes): return nodes.flatMap { Array($0.encodedBytes) }
        }
    }

    /// Whether this node is `[number]` in the context-specific class.
    func isContext(_ number: UInt) -> Bool {
        identifier.tagClass == .contextSpecific && identifier.tagNumber == number
    }

    /// The object identifier this node holds, or nil.
    var objectIdentifier: ASN1ObjectIdentifier? {
        guard identifier == .objectIdentifier else { return nil }
        return try? ASN1ObjectIdentifier(derEncoded: self)
    }
}

/// The object identifiers an MSIX signature uses.
enum SignatureOID {
    static let signedData: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 2]
    static let data: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 1]
    static let spcIndirectData: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 311, 2, 1, 4]
    static let spcSipInfo: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 311, 2, 1, 30]
    static let spcStatementType: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 311, 2, 1, 11]
    static let spcIndividualCodeSigning: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 311, 2, 1, 21]
    static let spcSpOpusInfo: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 311, 2, 1, 12]
    static let contentType: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 3]
    static let messageDigest: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 4]
    static let signingTime: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 5]
    static let timeStampToken: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 311, 3, 3, 1]
    static let tstInfo: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 16, 1, 4]
    static let sha256: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 1]
    static let sha384: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 2]
    static let sha512: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 3]
    static let rsaEncryption: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 1]
    static let sha256WithRSA: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 11]
    static let sha384WithRSA: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 12]
    static let sha512WithRSA: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 13]
    static let ecdsaWithSHA256: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 2]
    static let ecdsaWithSHA384: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 3]
    static let ecdsaWithSHA512: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 4]
    static let ecPublicKey: ASN1ObjectIdentifier = [1, 2, 840, 10045, 2, 1]
}
