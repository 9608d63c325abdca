import Foundation
import Glibc
import HostPool
import LinuxSystem

/// The share's host-pool files, changed by admins' commands: each change takes the catalog's
/// lock (so that two admins, or an admin and an upload, never write over each other), reads
/// the file as it is now, makes the change (`HostPoolEditor`, validated as the hosts will
/// read it) and replaces the file atomically. Hosts see the old file or the new one, never a
/// mix, and never a file they would refuse.
public struct HostPoolFiles: Sendable {
    public let share: ShareLayout
    /// Who changes it, for the lock's holder line (the host name).
    public let owner: String
    public var lockTimeout: Duration = .seconds(60)

    public init(share: ShareLayout, owner: String) {
        self.share = share
        self.owner = owner
    }

    /// The directory of host-pool files.
    public var directory: String { share.root + "/hostpools" }

    /// Changes pool `pool`'s file with `change`. `create`: a missing file starts empty (the
    /// first `add`); otherwise a missing file is an error naming it. Returns what `change`
    /// returned, and the file as written.
    @discardableResult
    public func edit<T>(pool: String, create: Bool = false, _ change: (inout HostPoolEditor) throws -> T) throws -> (T, HostPoolEditor) {
        if let problem = HostConfig.poolNameProblem(pool) { throw ShareCatalogError(pool, "the pool name \(problem)") }
        let path = HostPoolDefinition.path(share: share.root, pool: pool)
        let displayName = HostPoolDefinition.relativePath(pool: pool)
        let lock = try CatalogLock.acquire(path: share.lock, owner: owner, timeout: lockTimeout)
        defer { lock.release() }
        let text: String
        switch try Self.read(path) {
        case .some(let read): text = read
        case .none where create:
            if mkdir(directory, 0o755) != 0 && errno != EEXIST { throw SystemCallError("mkdir", directory) }
            text = ""
        case .none: throw ShareCatalogError(displayName, "does not exist on the share (hostpool add makes it)")
        }
        var editor = try HostPoolEditor(text: text, displayName: displayName)
        let result = try change(&editor)
        if editor.text != text {
            try AtomicOutput.write(Array(editor.text.utf8), to: path, mode: 0o644)
        }
        return (result, editor)
    }

    /// Every pool's file on the share, by pool name, read (or the reason it cannot be).
    public func all() throws -> [(pool: String, definition: Result<HostPoolDefinition, ConfigurationError>)] {
        let names: [String]
        do {
            names = try OpenDirectory.open(directory).names()
        } catch {
            if error.errno == ENOENT { return [] }
            throw error
        }
        return names.filter { $0.hasSuffix(".toml") && !$0.hasPrefix(".") }.sorted().map { name in
            let pool = String(name.dropLast(".toml".count))
            do throws(ConfigurationError) {
                return (pool, .success(try HostPoolDefinition.load(share: share.root, pool: pool)))
            } catch {
                return (pool, .failure(error))
            }
        }
    }

    /// The file's text, or nil when there is none. Anything but a small regular file is an error.
    static func read(_ path: String) throws -> String? {
        let slash = path.lastIndex(of: "/")!
        let parent = String(path[..<slash]), name = String(path[path.index(after: slash)...])
        let directory: OpenDirectory
        do {
            directory = try OpenDirectory.open(parent)
        } catch {
            if error.errno == ENOENT { return nil }
            throw error
        }
        guard let bytes = try directory.readSmallFile(name, limit: 1 << 20) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
