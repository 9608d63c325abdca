import Foundation
import Glibc
import LinuxSystem
import MSIX
import Staging

/// The agent's `PackageAdmission`: a package folder of an image is exposed only when its
/// `AppxManifest.xml` is a regular file of sane size, passes the manifest schema's rules, and
/// names the folder's own PackageFullName. The folder's name decides a package's gate and which
/// host-pool entry matches it, while the manifest decides its data layer, file names and
/// launch target: were they allowed to differ, package B could claim package A's family, its
/// users' app data and `launch A!App`.
///
/// Then the host's signature policy (`SignatureVerdicts`), when one is given: the package's
/// signature checked against its files and the trusted publishers.
///
/// The manifests read while staging are kept, so `PackageStager` does not read them twice.
final class ManifestAdmission: @unchecked Sendable {
    /// A manifest larger than this is refused: the schema's limits keep real ones far below.
    static let maximumManifestSize: UInt64 = 8 << 20

    private let lock = NSLock()
    private var manifests: [String: AppxManifest] = [:]
    /// The signature policy and its remembered verdicts; nil checks no signatures.
    let signatures: SignatureVerdicts?

    init(signatures: SignatureVerdicts? = nil) {
        self.signatures = signatures
    }

    /// The `PackageAdmission` closure.
    var check: PackageAdmission {
        { [self] imageID, fullName, folder in
            switch admit(imageID: imageID, fullName: fullName, folder: folder) {
            case .success(let manifest):
                lock.withLock { manifests[fullName] = manifest }
                return nil
            case .failure(let refusal):
                return refusal.reason
            }
        }
    }

    /// The folder's manifest, once its identity and (with a policy) its signature are accepted.
    func admit(imageID: String, fullName: String, folder: String) -> Result<AppxManifest, Refusal> {
        let read = Self.read(fullName: fullName, folder: folder)
        guard case .success(let manifest) = read, let signatures else { return read }
        if let reason = signatures.refusal(imageID: imageID, fullName: fullName, folder: folder,
                                           publisher: manifest.identity.publisher) {
            return .failure(Refusal(reason: "\(folder): \(reason)"))
        }
        return read
    }

    /// The manifest read for `fullName` while staging, once.
    func take(_ fullName: String) -> AppxManifest? {
        lock.withLock { manifests.removeValue(forKey: fullName) }
    }

    /// Why a package folder is not admitted.
    struct Refusal: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }

    /// Reads and checks the manifest in `folder`, which claims to be package `fullName`.
    /// Never follows a link: the manifest must be a regular file in the folder itself.
    static func read(fullName: String, folder: String) -> Result<AppxManifest, Refusal> {
        let path = folder + "/" + MSIXPackage.manifestName
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return .failure(Refusal(reason: "\(path): \(String(cString: strerror(errno)))")) }
        let file = OpenFile(adopting: fd, path: path)
        let bytes: [UInt8]
        do {
            let status = try file.status()
            guard status.st_mode & S_IFMT == S_IFREG else { return .failure(Refusal(reason: "\(path) is not a regular file")) }
            let size = UInt64(status.st_size)
            guard size <= maximumManifestSize else {
                return .failure(Refusal(reason: "\(path) is \(size) bytes; a manifest may hold at most \(maximumManifestSize)"))
            }
            bytes = try file.read(count: Int(size), at: 0)
        } catch {
            return .failure(Refusal(reason: "\(path): \(error)"))
        }
        let manifest: AppxManifest
        do { manifest = try AppxManifest.parse(bytes) } catch {
            return .failure(Refusal(reason: "\(folder): \(error.message)"))
        }
        guard manifest.identity.fullName == fullName else {
            return .failure(Refusal(reason: "\(folder): the folder is named \(fullName) but its manifest is package \(manifest.identity.fullName); a package folder must be named after its manifest's identity"))
        }
        return .success(manifest)
    }
}
