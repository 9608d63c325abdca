import SwiftASN1
import X509

/// What a package signer's certificate must be for: code signing. An extended key usage, when
/// present, must include code signing (or any purpose); a key usage, when present, must allow
/// digital signatures. (osslsigncode and Windows check the same; a certificate made for a web
/// server does not sign packages.)
struct CodeSigningPolicy: VerifierPolicy {
    /// Extended key usage is checked here, so a certificate that marks it critical is accepted.
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [.X509ExtensionID.extendedKeyUsage]

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        if let problem = Self.problem(chain.leaf) { return .failsToMeetPolicy(reason: problem) }
        return .meetsPolicy
    }

    /// Why `certificate` may not sign code, or nil.
    static func problem(_ certificate: Certificate) -> String? {
        do {
            if let usage = try certificate.extensions.extendedKeyUsage, !usage.contains(.codeSigning), !usage.contains(.any) {
                return "the signer's certificate is not for code signing (extended key usage: \(usage))"
            }
            if let usage = try certificate.extensions.keyUsage, !usage.digitalSignature {
                return "the signer's certificate may not make digital signatures (key usage: \(usage))"
            }
        } catch {
            return "the signer's certificate has an unreadable key usage: \(error)"
        }
        return nil
    }
}
