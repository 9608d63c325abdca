/// Why a package's signature is not trusted: one line that names the package and the step that
/// failed (its form, a digest, the signature, the certificate chain, the publisher).
public struct TrustError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The step that failed.
    public enum Kind: String, Sendable, Equatable, Codable {
        /// No AppxSignature.p7x: the package is not signed.
        case unsigned
        /// The p7x is not the SignedData an MSIX signature is.
        case malformed
        /// A digest in the signed content does not match the package.
        case digestMismatch
        /// The signer's signature over the signed attributes does not verify.
        case badSignature
        /// No chain from the signer to a trust anchor (unknown issuer, expired, not for code signing).
        case untrusted
        /// The manifest's Publisher is not the signer's subject.
        case publisherMismatch
        /// The trust anchors could not be read.
        case anchors
    }

    public let kind: Kind
    /// The package (or anchor file) concerned, when known.
    public let file: String?
    public let message: String

    public init(_ kind: Kind, file: String? = nil, _ message: String) {
        self.kind = kind
        self.file = file
        self.message = message
    }

    /// The same error, naming `file`.
    public func naming(_ file: String) -> TrustError { TrustError(kind, file: file, message) }

    public var description: String { file.map { "\($0): \(message)" } ?? message }
}
