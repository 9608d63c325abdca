@testable import AppData
import Foundation
import Glibc
import LinuxSystem
import Testing
import TestSupport

/// A scratch directory with a users directory (this host's layers) and the helpers the app
/// data suites share: where a user's layer and profile copy are, what they hold, and a second
/// host (another users directory) pushing into the same home.
final class AppDataScene {
    let pfn = "Contoso.Notes_8wekyb3d8bbwe"
    let root: String
    let files = UserFiles()
    /// This host.
    let store: AppDataStore
    /// Another session host of the pool: its own layers, the same homes.
    let otherHost: AppDataStore

    init(_ label: String) {
        root = TestEnvironment.makeTemporaryDirectory(label)
        chmod(root, 0o755)
        store = AppDataStore(usersDirectory: root + "/users", files: files)
        otherHost = AppDataStore(usersDirectory: root + "/other-host-users", files: files)
    }

    deinit {
        unmountAll()
        TestEnvironment.removeTemporaryDirectory(root)
    }

    /// Unmounts whatever a test mounted below the scene's directory, wherever a rename (a
    /// layer retired) moved it. Detached rather than unmounted: in a parallel run, a copy of
    /// the mount in another test's mount namespace, or another test's child between its fork
    /// and its exec, can keep a plain unmount busy for longer than any retry. Asked again for
    /// up to 2 s while the table still lists one; returns what stayed, with the reason.
    @discardableResult
    func unmountAll() -> [String] {
        var failures: [String: String] = [:]
        for _ in 0..<20 {
            let below = Self.mounts(below: root)
            if below.isEmpty { return [] }
            for path in below.reversed() where umount2(path, Int32(MNT_DETACH)) != 0 {
                failures[path] = String(cString: strerror(errno))
            }
            usleep(100_000)
        }
        return Self.mounts(below: root).map { "\($0): \(failures[$0] ?? "still mounted")" }
    }

    /// Mount points below `directory`, in the order of the mount table. The table is read with
    /// the product's own parser (octal escapes decoded), and again when a read fails: an empty
    /// answer from a failed read once let a leftover mount pass for none.
    static func mounts(below directory: String) -> [String] {
        for _ in 0..<5 {
            if let table = try? MountTable.read() {
                return table.map(\.mountPoint).filter { $0.hasPrefix(directory + "/") }
            }
            usleep(50_000)
        }
        return ["(the mount table could not be read)"]
    }

    func user() throws -> TestUser { try TestUser(base: root) }

    /// `store` stopping at `point` as if the agent died there.
    func cut(at point: AppDataStore.Interruption) -> AppDataStore {
        var store = store
        store.interruption = point
        return store
    }

    func layer(_ user: TestUser, host: AppDataStore? = nil) -> String {
        "\(host?.usersDirectory ?? store.usersDirectory)/\(user.account.uid)/\(pfn)"
    }
    func profileParent(_ user: TestUser) -> String { "\(user.home)/.local/share/appattach" }
    func profile(_ user: TestUser) -> String { "\(profileParent(user))/\(pfn)" }

    /// The names beside the profile copy (the copy itself, kept copies, leftovers), sorted.
    func profileNames(_ user: TestUser) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: profileParent(user)).sorted()
    }

    /// The kept copies of the package in the home.
    func keptCopies(_ user: TestUser) throws -> [String] {
        try profileNames(user).filter { $0.hasPrefix(pfn + ".kept-") }
    }

    /// The names in the user's directory of layers, sorted.
    func layerNames(_ user: TestUser, host: AppDataStore? = nil) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "\(host?.usersDirectory ?? store.usersDirectory)/\(user.account.uid)").sorted()
    }

    /// relative path → SHA-256 of every regular file below `directory` (Python's view).
    func digest(_ directory: String) throws -> [String: String] { try TreeDigest.ofDirectory(directory) }

    /// The config data of a profile copy or kept copy, as the digest of its `config` tree.
    func configDigest(ofCopy copy: String) throws -> [String: String] { try digest(copy + "/config") }

    /// The generation file of the copy at `copy`.
    func generation(ofCopy copy: String) -> String? {
        (try? String(contentsOfFile: copy + "/" + ProfileGeneration.fileName, encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Writes `count` files of `name`'s session (a few KiB each) into the layer's config, as the user.
    func session(_ name: String, files count: Int = 1, in layer: String, as user: TestUser) throws {
        try user.shell("""
            mkdir -p '\(layer)/config/upper/app/\(name)' && for i in $(seq 1 \(count)); do \
            head -c 3000 /dev/urandom > '\(layer)/config/upper/app/\(name)/file'$i; done \
            && echo '\(name)' > '\(layer)/config/upper/app/\(name).txt'
            """)
    }

    /// Removes about half of the files and directories below `directory` in place, depth
    /// first, as a removal killed halfway (the old in-place removal of a layer) leaves it.
    func removeHalf(of directory: String, as user: TestUser) throws {
        try user.shell("find '\(directory)' -mindepth 1 -depth | awk 'NR % 2 == 1' | while read -r p; do rm -rf \"$p\"; done")
    }

    /// A cgroup tree in which `user` runs an app of the package (for `AppScopes`).
    func cgroupTree(withAppOf user: TestUser) throws -> String {
        let tree = root + "/cgroup"
        let slice = AppScopeName.appSliceDirectory(uid: user.account.uid, cgroupRoot: tree)
        let scope = slice + "/" + AppScopeName.make(packageFamilyName: pfn, appId: "App", random: "0badcafe")
        try FileManager.default.createDirectory(atPath: scope, withIntermediateDirectories: true)
        try "populated 1\nfrozen 0\n".write(toFile: scope + "/cgroup.events", atomically: false, encoding: .utf8)
        return tree
    }
}

/// What the app data suites need of the machine.
enum AppDataHost {
    static let canMakeUsers = TestEnvironment.isRoot && TestEnvironment.hasTool("useradd") && TestEnvironment.hasTool("setpriv")
        && TestEnvironment.hasTool("setfattr") && TestEnvironment.hasTool("getfattr") && TestEnvironment.hasTool("python3")
}
