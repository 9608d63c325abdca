import Foundation
import Glibc
import HostPool
import LinuxSystem
import MSIX
import Registration
import StateStore
import Staging
import Systemd

/// A package the agent has staged, with what registration needs from it, read once.
struct StagedPackageInfo: Sendable {
    var fullName: String
    var familyName: String
    var imageID: String
    /// The image file, canonical (as `Stage` records it).
    var imagePath: String
    var manifest: AppxManifest
    var integration: PreparedIntegration
}

/// Stages and destages images for the agent and keeps what it staged: each package's manifest
/// and shared integration files (prepared once per package, not per user), its gate's access
/// list, and the state database's image and package rows. Used from the agent's event loop only.
final class PackageStager {
    let settings: AgentSettings
    let database: StateDatabase
    let journal: AgentJournal
    /// Where the gates' user and group names are resolved (NSS; tests count the look-ups).
    var directory: any AccountDirectory
    /// Staged packages by PackageFullName.
    private(set) var packages: [String: StagedPackageInfo] = [:] { didSet { packagesChanged &+= 1 } }
    /// Counts changes of `packages`, so that what follows them (the shared desktop data) can
    /// tell that it has to follow without comparing every package.
    private(set) var packagesChanged = 0
    /// The PackageFullNames staged from each image file (canonical path), by PackageFamilyName:
    /// finding the package an entry provides is a look-up, however many packages its image
    /// holds (an image of thousands of packages named by as many entries).
    private var byImagePath: [String: [String: Set<String>]] = [:]
    /// The PackageFullNames staged from each image, by image id (an image all of whose
    /// package folders were refused is here too, with none).
    private var byImage: [String: Set<String>] = [:]
    /// The id of each staged image, by its file's canonical path.
    private var imageIDs: [String: String] = [:]
    /// Active entries whose images are to be staged ahead of sign-ins (`PackageStager+Backlog`).
    var backlog: [PackageEntry] = []
    /// Whether a `stageBacklog` command is on the loop's queue.
    var backlogQueued = false
    /// Called after each batch of staging from the backlog; at start-up the agent pings the
    /// watchdog from it.
    var afterBatch: (() -> Void)?
    /// Called for every backlog entry staged (nil) or not (the error): the host's health.
    var entryStaged: ((PackageEntry, (any Error)?) -> Void)?
    /// Images whose destaging was refused (in use) or failed, to be tried again.
    private(set) var destagePending: Set<String> = []
    /// The access list last applied to each gate, so an unchanged one is not rewritten.
    private var appliedGates: [String: String] = [:]
    /// Package folders of staged images that are not exposed, by image id: PackageFullName →
    /// why (`ManifestAdmission`). Nothing of them is registered; `status` lists them.
    private(set) var refused: [String: [String: String]] = [:]
    /// Checks each package folder before it is exposed (identity, signature), and keeps the
    /// manifests it read.
    let admission: ManifestAdmission

    init(settings: AgentSettings, database: StateDatabase, journal: AgentJournal,
         directory: any AccountDirectory = SystemAccountDirectory()) {
        self.settings = settings
        self.database = database
        self.journal = journal
        self.directory = directory
        let config = settings.config
        admission = ManifestAdmission(signatures: SignatureVerdicts(policy: config.signaturePolicy,
                                                                    trustedPublishers: config.trustedPublishers,
                                                                    paths: settings.stagingPaths))
        if config.signaturePolicy == .required, case .failure(let error) = admission.signatures?.anchors {
            journal.logger.error("the trusted publishers cannot be read: \(error); no package can be staged until they can",
                                 metadata: ["appattach.reason": "\(error)"])
        }
    }

    var paths: StagingPaths { settings.stagingPaths }

    /// How many images are staged (the status line asks after every command).
    var imageCount: Int { byImage.count }
    /// The staged packages of one image.
    func packages(ofImage imageID: String) -> [StagedPackageInfo] { (byImage[imageID] ?? []).compactMap { packages[$0] } }

    /// Takes over what is staged already (after a restart: mounts survive in the runtime
    /// directory), and makes the database agree with the kernel: rows of images that are no
    /// longer mounted go, with their registrations.
    func adoptStaged() {
        let status = StagingStatus.read(paths: paths)
        let records = StagingRecords(paths: paths)
        for image in status.images {
            do {
                try remember(imageID: image.id, imagePath: image.imagePath ?? "", fullNames: image.packages.map(\.fullName),
                             refusedAtStaging: records.load(image.id)?.refused ?? [])
            } catch {
                journal.logger.error("cannot take over staged image \(image.id)", error: error, metadata: ["appattach.image": "\(image.id)"])
            }
        }
        let mounted = Set(status.images.map(\.id))
        for record in (try? database.images()) ?? [] where !mounted.contains(record.id) {
            _ = try? database.deleteImage(record.id)
        }
    }

    /// The staged package an entry provides, staging its image first when needed.
    func ensureStaged(_ entry: PackageEntry) throws -> StagedPackageInfo {
        let imagePath = settings.imagePath(entry)
        let canonical = Self.canonical(imagePath)
        if let found = stagedPackage(providing: entry, at: canonical) { return found }
        // A refused folder stays refused while its image is staged: no stage again at each sign-in.
        if let id = imageIDs[canonical], let (name, reason) = refused[id]?.first(where: { entry.package.matches(fullName: $0.key) }) {
            throw StagingError("\(entry.image): package \(name) is refused: \(reason)")
        }
        let staged = try stage(imagePath)
        guard let found = staged.first(where: { entry.package.matches(fullName: $0.fullName) }) else {
            let refusals = staged.first.flatMap { refused[$0.imageID] } ?? refusedOf(imagePath: imagePath)
            if let (name, reason) = refusals.first(where: { entry.package.matches(fullName: $0.key) }) {
                throw StagingError("\(entry.image): package \(name) is refused: \(reason)")
            }
            throw StagingError("\(entry.image): holds no package \(entry.package) (it holds \(staged.map(\.fullName).joined(separator: ", ")))")
        }
        return found
    }

    /// The refused package folders of the staged image at `imagePath`.
    private func refusedOf(imagePath: String) -> [String: String] {
        guard let id = imageIDs[Self.canonical(imagePath)] else { return [:] }
        return refused[id] ?? [:]
    }

    /// The staged package `entry` provides from its image, if that is staged; `canonical` is
    /// the image's path as `canonical` gives it (nil: worked out here).
    func stagedPackage(providing entry: PackageEntry, at canonical: String? = nil) -> StagedPackageInfo? {
        let path = canonical ?? Self.canonical(settings.imagePath(entry))
        let candidates = byImagePath[path]?[entry.package.familyName] ?? []
        for fullName in candidates.sorted() where entry.package.matches(fullName: fullName) {
            if let package = packages[fullName] { return package }
        }
        return nil
    }

    /// Stages the image at `imagePath`, prepares its packages' integration files, and records it.
    @discardableResult
    func stage(_ imagePath: String) throws -> [StagedPackageInfo] {
        let started = ContinuousClock.now
        let outcome: Stage.Outcome
        let staged: [StagedPackageInfo]
        do {
            // Gates start closed (0700); `applyGates` opens them to the assigned users.
            outcome = try Stage(paths: paths, gateMode: 0o700, lockTimeout: settings.stagingLockTimeout,
                                admission: admission.check, mapper: ImageMapping.read).run(imagePath)
            staged = try remember(imageID: outcome.image.id, imagePath: outcome.image.imagePath,
                                  fullNames: outcome.image.packages.map(\.fullName), refusedAtStaging: outcome.image.refused)
        } catch {
            journal.event(.imageStageFailed, "cannot stage \(imagePath): \(error)", level: .error, record: .stageFailed,
                          .init(image: imagePath))
            throw error
        }
        let image = outcome.image
        destagePending.remove(image.id)
        if case .staged = outcome {
            journal.event(.imageStaged, "staged image \(image.id) from \(image.imagePath) \(image.loopDevice.map { "on \($0)" } ?? "straight from the file (no loop device)")",
                          record: .staged, .init(package: staged.map(\.fullName).joined(separator: " "), image: image.id,
                                                 duration: ContinuousClock.now - started))
        }
        return staged
    }

    /// Reads the manifests, prepares (or reloads) the integration files, saves the rows.
    /// A package whose manifest is not valid or not its folder's identity is refused (an image
    /// staged by hand, or before this check): its gate stays closed and it is journaled once.
    @discardableResult
    private func remember(imageID: String, imagePath: String, fullNames: [String],
                          refusedAtStaging: [RefusedPackage]) throws -> [StagedPackageInfo] {
        var staged: [StagedPackageInfo] = []
        for refusal in refusedAtStaging { refuse(refusal.fullName, of: imageID, refusal.reason) }
        for fullName in fullNames {
            let packageDir = paths.packageMountPoint(fullName)
            let manifest: AppxManifest
            if let read = admission.take(fullName) {
                manifest = read
            } else {
                switch admission.admit(imageID: imageID, fullName: fullName, folder: packageDir) {
                case .success(let read): manifest = read
                case .failure(let refusal):
                    refuse(fullName, of: imageID, refusal.reason)
                    closeGate(fullName)
                    continue
                }
            }
            let shared = settings.integrationDirectory(fullName)
            let integration: PreparedIntegration
            if let prepared = try? PreparedIntegration.load(from: shared), prepared.packageFullName == fullName {
                integration = prepared
            } else {
                integration = try PackageIntegration.prepare(packageDir: packageDir, into: shared)
            }
            let info = StagedPackageInfo(fullName: fullName, familyName: manifest.identity.familyName, imageID: imageID,
                                         imagePath: imagePath, manifest: manifest, integration: integration)
            packages[fullName] = info
            byImagePath[imagePath, default: [:]][info.familyName, default: []].insert(fullName)
            byImage[imageID, default: []].insert(fullName)
            staged.append(info)
        }
        if byImage[imageID] == nil { byImage[imageID] = [] }
        imageIDs[imagePath] = imageID
        try database.saveImage(ImageRecord(id: imageID, path: imagePath, stagedAt: Date(), state: .staged),
                               packages: staged.map { PackageRecord(fullName: $0.fullName, familyName: $0.familyName,
                                                                    imageID: imageID, mountPoint: paths.packageLink($0.fullName)) })
        return staged
    }

    /// Records that package folder `fullName` of image `imageID` is not exposed, journaling it
    /// the first time.
    private func refuse(_ fullName: String, of imageID: String, _ reason: String) {
        guard refused[imageID]?[fullName] != reason else { return }
        refused[imageID, default: [:]][fullName] = reason
        journal.event(.packageRefused, "package folder \(fullName) of image \(imageID) is not exposed: \(reason)",
                      level: .error, record: .packageRefused,
                      .init(package: fullName, image: imageID, extra: ["appattach.reason": "\(reason)"]))
    }

    /// Leaves a refused package's gate to root alone, whoever staged it.
    private func closeGate(_ fullName: String) {
        do {
            try AccessControlList(PackageGate().aclText).apply(to: paths.gate(fullName))
        } catch {
            journal.logger.error("cannot close the gate of refused package \(fullName)", error: error,
                                 metadata: ["appattach.package": "\(fullName)"])
        }
    }

    /// Sets every staged package's gate (or those of `only`) to the users and groups the host
    /// pool assigns it. Packages the pool does not name (any more) are closed to everyone but root.
    func applyGates(_ index: HostPoolIndex?, only: Set<String>? = nil) {
        var ids = IDCache(directory: directory)
        applyGates(index, only: only, ids: &ids)
    }

    /// `applyGates`, names resolved through `ids` (a registration's cache). A sign-in sets the
    /// gates of the user's own packages only: one that was unknown to NSS when the host-pool
    /// file was loaded (a new account) is let in then, at no cost per package of the pool.
    func applyGates(_ index: HostPoolIndex?, only: Set<String>?, ids: inout IDCache) {
        for fullName in (only.map { Array($0) } ?? Array(packages.keys)).sorted() where packages[fullName] != nil {
            let gate = index.map { PackageGate.resolve(fullName: fullName, index: $0, ids: &ids) } ?? PackageGate()
            let text = gate.aclText
            guard appliedGates[fullName] != text else { continue }
            do {
                try AccessControlList(text).apply(to: paths.gate(fullName))
                appliedGates[fullName] = text
                if !gate.unresolved.isEmpty {
                    journal.logger.warning("package \(fullName): \(gate.unresolved.joined(separator: ", ")) unknown to NSS; not let in",
                                           metadata: ["appattach.package": "\(fullName)"])
                }
            } catch {
                journal.logger.error("cannot set the access list of package \(fullName)", error: error,
                                     metadata: ["appattach.package": "\(fullName)"])
            }
        }
    }

    /// Destages every image none of whose packages is registered for anyone, except those in
    /// `keep`. An image in use stays staged and is tried again later; never a lazy unmount.
    func destageUnused(keep: Set<String> = []) {
        for imageID in byImage.keys.sorted() where !keep.contains(imageID) {
            guard let users = try? database.users(ofImage: imageID), users.isEmpty else { continue }
            destage(imageID, packages: packages(ofImage: imageID))
        }
    }

    /// Tries the refused destages again: only those, so an image that is staged because the
    /// host pool wants it is not taken away by the retry timer.
    func retryPendingDestages() {
        for imageID in destagePending.sorted() {
            let packages = packages(ofImage: imageID)
            guard !packages.isEmpty else {
                destagePending.remove(imageID)
                continue
            }
            guard let users = try? database.users(ofImage: imageID), users.isEmpty else {
                // Someone registered it again meanwhile: it is wanted after all.
                destagePending.remove(imageID)
                continue
            }
            destage(imageID, packages: packages)
        }
    }

    /// Destages one image now.
    private func destage(_ imageID: String, packages staged: [StagedPackageInfo]) {
        let started = ContinuousClock.now
        let names = staged.map(\.fullName).sorted().joined(separator: " ")
        do {
            _ = try Destage(paths: paths, lockTimeout: settings.stagingLockTimeout).run(imageID)
        } catch {
            let firstRefusal = destagePending.insert(imageID).inserted
            if firstRefusal {
                journal.event(.imageDestageRefusedBusy, "image \(imageID) stays staged: \(error); trying again later",
                              level: .warning, .init(package: names, image: imageID))
            }
            return
        }
        destagePending.remove(imageID)
        refused[imageID] = nil
        admission.signatures?.forget(imageID)
        byImage[imageID] = nil
        imageIDs = imageIDs.filter { $0.value != imageID }
        for package in staged {
            packages[package.fullName] = nil
            byImage[package.imageID]?.remove(package.fullName)
            if byImage[package.imageID]?.isEmpty == true { byImage[package.imageID] = nil }
            byImagePath[package.imagePath]?[package.familyName]?.remove(package.fullName)
            if byImagePath[package.imagePath]?[package.familyName]?.isEmpty == true { byImagePath[package.imagePath]?[package.familyName] = nil }
            if byImagePath[package.imagePath]?.isEmpty == true { byImagePath[package.imagePath] = nil }
            appliedGates[package.fullName] = nil
            try? FileManager.default.removeItem(atPath: settings.integrationDirectory(package.fullName))
        }
        _ = try? database.deleteImage(imageID)
        journal.event(.imageDestaged, "destaged image \(imageID)", record: .destaged,
                      .init(package: names, image: imageID, duration: ContinuousClock.now - started))
    }

    /// `realpath`, or the path as given when it cannot be resolved (then it matches nothing staged).
    static func canonical(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
