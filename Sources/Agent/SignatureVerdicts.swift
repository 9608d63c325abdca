import Foundation
import HostPool
import LinuxSystem
import PackageTrust
import Staging

/// What the host requires of package signatures (`signature`, `trusted_publishers` in
/// appattach.toml), and what it found, remembered per image: a package folder's signature is
/// checked against its files once per image id (hashing every block), not at every stage of the
/// same image, as `MappingCache` remembers its mapping. The verdicts live in the runtime
/// directory (`signatures/<image-id>.json`, root-only), so they go at reboot, and they are
/// kept only for the policy and trust anchors they were made under.
public final class SignatureVerdicts: @unchecked Sendable {
    public let policy: HostConfig.SignaturePolicy
    public let trustedPublishers: String
    let directory: String
    private let lock = NSLock()
    private var loadedAnchors: Result<TrustAnchors, TrustError>?
    private var cachedKey: String?

    /// The trust anchors, or why they could not be read (every package is then refused where
    /// signatures are required). Read at first need: a host where they are optional never
    /// parses the CA store.
    public var anchors: Result<TrustAnchors, TrustError> {
        lock.withLock {
            if let loadedAnchors { return loadedAnchors }
            let spec = trustedPublishers
            let loaded = Result(catching: { () throws(TrustError) -> TrustAnchors in try TrustAnchors.load(spec) })
            loadedAnchors = loaded
            return loaded
        }
    }

    /// What the verdicts depend on besides the image: the policy and, where signatures are
    /// required, the anchors.
    private var key: String {
        if let cachedKey = lock.withLock({ cachedKey }) { return cachedKey }
        let key = policy == .optional ? policy.rawValue : policy.rawValue + ":" + ((try? anchors.get().fingerprint) ?? "no anchors")
        lock.withLock { cachedKey = key }
        return key
    }
    private var verdicts: [String: Verdicts] = [:]

    /// The verdicts on one image's package folders.
    struct Verdicts: Codable {
        var key: String
        /// PackageFullName → nil (accepted) or the reason it was refused.
        var packages: [String: String?]
    }

    public init(policy: HostConfig.SignaturePolicy, trustedPublishers: String, paths: StagingPaths) {
        self.policy = policy
        self.trustedPublishers = trustedPublishers
        directory = paths.runtime + "/signatures"
    }

    /// Why the package in `folder` (image `imageID`, manifest Publisher `publisher`) may not be
    /// exposed on this host's signature policy, or nil.
    public func refusal(imageID: String, fullName: String, folder: String, publisher: String) -> String? {
        if let known = remembered(imageID, fullName) { return known }
        let verdict = check(folder: folder, publisher: publisher)
        remember(imageID, fullName, verdict)
        return verdict
    }

    private func check(folder: String, publisher: String) -> String? {
        if policy == .optional {
            // Any publisher, or none; but a signature that is there must match the files.
            guard access(folder + "/AppxSignature.p7x", F_OK) == 0 else { return nil }
            let placeholder = TrustAnchors(certificates: [], source: "none")
            do {
                _ = try UnpackedPackageCheck(trust: SignatureTrust(anchors: placeholder)).checkFiles(folder)
                return nil
            } catch {
                return "its files do not match its signature: \(error)"
            }
        }
        switch anchors {
        case .failure(let error):
            return "its signature cannot be checked: the trusted publishers cannot be read: \(error)"
        case .success(let anchors):
            do {
                _ = try UnpackedPackageCheck(trust: SignatureTrust(anchors: anchors)).check(folder: folder, publisher: publisher)
                return nil
            } catch {
                if error.kind == .unsigned {
                    return "it is not signed, and this host requires signed packages (signature = \"required\" in appattach.toml)"
                }
                return "its signature is not accepted: \(error)"
            }
        }
    }

    private func remembered(_ imageID: String, _ fullName: String) -> String?? {
        let key = self.key
        return lock.withLock {
            if verdicts[imageID] == nil, let data = FileManager.default.contents(atPath: file(imageID)),
               let read = try? JSONDecoder().decode(Verdicts.self, from: data), read.key == key {
                verdicts[imageID] = read
            }
            guard let image = verdicts[imageID], image.key == key, let verdict = image.packages[fullName] else { return nil }
            return .some(verdict)
        }
    }

    private func remember(_ imageID: String, _ fullName: String, _ verdict: String?) {
        let key = self.key
        let snapshot: Verdicts = lock.withLock {
            var image = verdicts[imageID] ?? Verdicts(key: key, packages: [:])
            if image.key != key { image = Verdicts(key: key, packages: [:]) }
            image.packages[fullName] = .some(verdict)
            verdicts[imageID] = image
            return image
        }
        guard let data = try? JSONEncoder().encode(snapshot) else { return }
        if mkdir(directory, 0o700) != 0 && errno != EEXIST { return }
        try? AtomicOutput.write(Array(data), to: file(imageID), mode: 0o600, durable: false)
    }

    private func file(_ imageID: String) -> String { directory + "/" + imageID + ".json" }

    /// Forgets an image's verdicts (it was destaged: a new image file may come with its id).
    func forget(_ imageID: String) {
        lock.withLock { _ = verdicts.removeValue(forKey: imageID) }
        unlink(file(imageID))
    }
}
