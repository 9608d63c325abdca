/// AppxSignature.p7x: `PKCX` followed by a DER PKCS#7 SignedData whose signed content holds
/// `APPX` and 36-byte digest records (`AXPC` ZIP records, `AXCD` central directory, `AXCT`
/// content types, `AXBM` block map, `AXCI` CodeIntegrity.cat), each a SHA-256.
///
/// This reads the digests so they can be checked against the package; it does not check the
/// PKCS#7 signature itself or any certificate chain.
public struct PackageSignature: Codable, Sendable, Equatable {
    /// The digest records found, by tag (`AXBM`, …), as lower-case hex.
    public var digests: [String: String]
    /// Bytes of AppxSignature.p7x.
    public var size: UInt64

    /// The tags this reader knows, in the order makeappx writes them.
    public static let knownTags = ["AXPC", "AXCD", "AXCT", "AXBM", "AXCI"]

    /// Parses the p7x bytes. The error is `.invalidSignature`, without a file name.
    public static func parse(_ bytes: [UInt8]) throws(MSIXError) -> PackageSignature {
        guard bytes.count > 4, bytes[0..<4].elementsEqual("PKCX".utf8) else {
            throw MSIXError(.invalidSignature, "AppxSignature.p7x does not start with the PKCX header")
        }
        guard let start = find(Array("APPX".utf8), in: bytes, from: 4) else {
            throw MSIXError(.invalidSignature, "AppxSignature.p7x has no APPX digest block")
        }
        var digests: [String: String] = [:]
        var position = start + 4
        while position + 36 <= bytes.count, bytes[position] == UInt8(ascii: "A"), bytes[position + 1] == UInt8(ascii: "X") {
            let tag = String(decoding: bytes[position..<(position + 4)], as: UTF8.self)
            digests[tag] = bytes[(position + 4)..<(position + 36)].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
            position += 36
        }
        for required in ["AXPC", "AXCD", "AXCT", "AXBM"] where digests[required] == nil {
            throw MSIXError(.invalidSignature, "AppxSignature.p7x has no \(required) digest")
        }
        return PackageSignature(digests: digests, size: UInt64(bytes.count))
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var index = start
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0] && haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
