/// What signs a package as it is packed: given the APPX digest blob (`APPX` and the records
/// `AXPC`, `AXCD`, `AXCT`, `AXBM`, each a SHA-256 of what it covers), returns the bytes of
/// `AppxSignature.p7x`. `PackageTrust.PackageSigner` is the implementation with a key and a
/// certificate; the packer computes the digests, so this module needs no X.509 code.
public protocol PackageSigning: Sendable {
    /// The publisher the signer's certificate names, as a manifest writes it; the packer refuses
    /// to sign a manifest whose Publisher differs (Windows would refuse the package).
    var publisher: String { get }
    /// `AppxSignature.p7x` for `blob`.
    func signature(for blob: [UInt8]) throws -> [UInt8]
}
