import Crypto
import Foundation
import SwiftASN1
import X509

/// The certificates a signature must chain to: the host's CA store (`system`), or every
/// certificate file (PEM, several per file allowed, or DER) in a directory an admin keeps for
/// the publishers they trust. A signer's own certificate placed there is trusted as it is, as
/// Windows' Trusted People store does.
public struct TrustAnchors: Sendable {
    public let certificates: [Certificate]
    /// Where they came from, for messages.
    public let source: String

    /// SHA-256 over the anchors' DER, as hex: what a remembered verdict was made under.
    public var fingerprint: String {
        var hasher = SHA256()
        for certificate in certificates {
            var serializer = DER.Serializer()
            if (try? serializer.serialize(certificate)) != nil { hasher.update(data: serializer.serializedBytes) }
        }
        return hasher.finalize().map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// The host's bundle of trusted CAs (Debian's `ca-certificates`).
    public static let systemBundle = "/etc/ssl/certs/ca-certificates.crt"

    public init(certificates: [Certificate], source: String) {
        self.certificates = certificates
        self.source = source
    }

    /// `system`, or a directory of certificate files.
    public static func load(_ spec: String) throws(TrustError) -> TrustAnchors {
        let files: [String]
        if spec == "system" {
            files = [systemBundle]
        } else {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: spec, isDirectory: &isDirectory) else {
                throw TrustError(.anchors, file: spec, "no such file or directory (give 'system' or a directory of certificates)")
            }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: spec)) ?? []
                files = names.sorted().filter { !$0.hasPrefix(".") }.map { spec + "/" + $0 }
            } else {
                files = [spec]
            }
        }
        var certificates: [Certificate] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            certificates += Self.certificates(in: Array(data))
        }
        guard !certificates.isEmpty else {
            throw TrustError(.anchors, file: spec, "holds no certificate that can be read (PEM or DER)")
        }
        return TrustAnchors(certificates: certificates, source: spec == "system" ? systemBundle : spec)
    }

    /// The certificates in one file: PEM blocks, or one DER certificate. Unreadable ones are skipped.
    static func certificates(in bytes: [UInt8]) -> [Certificate] {
        let text = String(decoding: bytes, as: UTF8.self)
        if text.contains("-----BEGIN ") {
            let documents = (try? PEMDocument.parseMultiple(pemString: text)) ?? []
            return documents.filter { $0.discriminator == "CERTIFICATE" }.compactMap { try? Certificate(derEncoded: $0.derBytes) }
        }
        return (try? Certificate(derEncoded: bytes)).map { [$0] } ?? []
    }
}
