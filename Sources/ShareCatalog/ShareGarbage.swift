import Fleet
import Foundation
import Glibc
import HostPool
import LinuxSystem

/// The images in the share's `images/` that nothing needs any more: no host-pool file names
/// them (active or inactive: an inactive entry is there to switch back to) and no host that
/// reported recently has them staged. `appattachctl gc` lists them, and removes them (and
/// their catalog entries) with `--delete`, under the catalog's lock.
public struct ShareGarbage: Sendable {
    /// One image that could go.
    public struct Image: Codable, Sendable, Equatable {
        /// The file name in `images/`.
        public var name: String
        /// Its size, when the file is there (a catalog entry may outlive its file).
        public var size: UInt64?
        public var inCatalog: Bool
    }

    /// One image that stays, and why.
    public struct Kept: Codable, Sendable, Equatable {
        public var name: String
        public var reasons: [String]
    }

    /// What was found.
    public struct Findings: Codable, Sendable, Equatable {
        public var removable: [Image]
        public var kept: [Kept]
        /// Host reports too old to count (their hosts are taken to be gone).
        public var ignoredReports: [String]
        /// What makes deleting unsafe (a host-pool file that cannot be read: it may name any image).
        public var problems: [String]
    }

    public let share: ShareLayout
    /// Reports older than this are not counted: a host silent that long is gone.
    public var reportsValidFor: TimeInterval = 3_600

    public init(share: ShareLayout) { self.share = share }

    /// Looks at the images, the pools' files and the hosts' reports as they are now.
    public func find(now: Date = Date()) throws -> Findings {
        let catalog = try Catalog.load(path: share.catalog)
        var names = Dictionary(uniqueKeysWithValues: catalog.images.map { ($0.name, (size: UInt64?.none, inCatalog: true)) })
        for (name, size) in try imageFiles() { names[name] = (size, names[name]?.inCatalog ?? false) }

        var reasons: [String: [String]] = [:]
        var problems: [String] = []
        for (pool, definition) in try HostPoolFiles(share: share, owner: "").all() {
            switch definition {
            case .success(let definition):
                for entry in definition.packages {
                    reasons[entry.image, default: []].append("named by hostpools/\(pool).toml (\(entry.package), \(entry.state.rawValue))")
                }
            case .failure(let error):
                problems.append("\(error): the images it names are not known, so nothing can be removed safely")
            }
        }
        var ignored: [String] = []
        for entry in try HostReportDirectory(share: share.root).readAll() {
            guard case .success(let report) = entry.report else { continue }
            guard now.timeIntervalSince(report.reportedAt) <= reportsValidFor else {
                ignored.append("\(entry.file) (last report \(Int(now.timeIntervalSince(report.reportedAt) / 60)) min ago)")
                continue
            }
            for image in report.images {
                reasons[image.image, default: []].append("staged on \(report.host)")
            }
        }
        var removable: [Image] = []
        var kept: [Kept] = []
        for name in names.keys.sorted() {
            let path = ShareLayout.relativeImagePath(name)
            if let why = reasons[path] {
                kept.append(Kept(name: name, reasons: why))
            } else {
                removable.append(Image(name: name, size: names[name]?.size, inCatalog: names[name]?.inCatalog ?? false))
            }
        }
        return Findings(removable: removable, kept: kept, ignoredReports: ignored, problems: problems)
    }

    /// Finds again under the catalog's lock (an upload or a host-pool change may have come in
    /// between), then removes what is removable: the file, then its catalog entry.
    public func delete(owner: String, now: Date = Date()) throws -> Findings {
        let lock = try CatalogLock.acquire(path: share.lock, owner: owner)
        defer { lock.release() }
        let findings = try find(now: now)
        guard findings.problems.isEmpty else {
            throw ShareCatalogError(share.root, "nothing removed: " + findings.problems.joined(separator: "; "))
        }
        for image in findings.removable where image.size != nil {
            if unlink(share.imagePath(image.name)) != 0 && errno != ENOENT {
                throw SystemCallError("unlink", share.imagePath(image.name))
            }
        }
        var catalog = try Catalog.load(path: share.catalog)
        let gone = Set(findings.removable.map(\.name))
        if catalog.images.contains(where: { gone.contains($0.name) }) {
            catalog.images.removeAll { gone.contains($0.name) }
            try AtomicOutput.write(try catalog.encoded(), to: share.catalog, mode: 0o644)
        }
        return findings
    }

    /// The regular files in `images/` (not hidden: those are uploads in flight), with their sizes.
    private func imageFiles() throws -> [(String, UInt64)] {
        let directory: OpenDirectory
        do {
            directory = try OpenDirectory.open(share.imagesDirectory)
        } catch {
            if error.errno == ENOENT { return [] }
            throw error
        }
        return try directory.names().filter { !$0.hasPrefix(".") }.compactMap { name in
            guard let st = try directory.status(of: name), st.st_mode & S_IFMT == S_IFREG else { return nil }
            return (name, UInt64(st.st_size))
        }
    }
}
