import AppData
import ArgumentParser
import Dispatch
import Foundation
import Glibc
import LinuxSystem

/// `appattach-bench layers`: the app data part of a regular registration. Throwaway users
/// sign in at once, each with the same packages: every user's layers are prepared in one visit
/// of the agent's workers (`AppDataStore.prepareLayers`), first with no profile copy (a first
/// sign-in), then from the profile copies their sign-out pushed (every later one). Beside it,
/// the same work done with the tools, user by user: `mkdir -p` of the layers, `cp -a` of the
/// profile copies into them and one `sync -f`.
struct LayersBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layers",
        abstract: "A regular registration's app data layers for users signing in at once, beside mkdir/cp -a/sync -f (root).")

    @Option(help: "Users signing in at once.")
    var users = 20

    @Option(help: "Packages per user.")
    var packages = 10

    @Option(help: "Files in each profile copy's config area (a few settings files).")
    var files = 3

    @Option(help: "Worker threads, as the agent's [agent] user_file_threads.")
    var threads = 4

    @Option(help: "Rounds (the table pools every user of every round).")
    var runs = 3

    @Option(help: "Scratch directory (layers and the throwaway users' homes go below it).")
    var directory = "/var/tmp/appattach-bench-layers"

    func run() throws {
        guard geteuid() == 0 else { throw BenchError("the layers benchmark needs root (it makes throwaway users)") }
        let fm = FileManager.default
        try? fm.removeItem(atPath: directory)
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let prefix = "aalay" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        var accounts: [UserAccount] = []
        defer {
            for account in accounts {
                _ = try? runTool(["userdel", account.name])
                _ = try? runTool(["groupdel", account.name])
            }
            try? fm.removeItem(atPath: directory)
        }
        try fm.createDirectory(atPath: directory + "/homes", withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        for i in 0..<users {
            let name = "\(prefix)\(i)", home = "\(directory)/homes/\(name)"
            try runTool(["useradd", "--no-create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin", "--user-group", name])
            guard let account = try Accounts.account(named: name) else { throw BenchError("useradd made no user \(name)") }
            accounts.append(account)
            try fm.createDirectory(atPath: home, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            chown(home, account.uid, account.gid)
        }
        let families = (0..<packages).map { "Bench.Layers\($0)_8wekyb3d8bbwe" }
        let store = AppDataStore(usersDirectory: directory + "/users", files: UserFiles(threads: threads))
        print("\(users) users at once, \(packages) packages each, \(files) files per profile copy, \(threads) workers, \(runs) rounds; "
              + "load average \(loadAverage()) (\(ProcessInfo.processInfo.activeProcessorCount) cores)")

        var first = Samples(), next = Samples(), tools = Samples(), layerFirst = Samples(), layerNext = Samples()
        var failures: [String] = []
        for _ in 0..<runs {
            // A first sign-in: no profile copies. Then each app's first launch makes its layer,
            // the app writes its settings, and sign-out pushes them.
            for account in accounts { try? fm.removeItem(atPath: account.home + "/.local/share/appattach") }
            for (total, user) in Self.concurrently(accounts, { store.prepareLayersBlocking(for: $0, families) }) {
                first.add(total)
                failures += user.failures
                user.layers.forEach { layerFirst.add($0) }
            }
            for account in accounts {
                for family in families { _ = try store.prepareLayer(for: account, packageFamilyName: family) }
            }
            try Self.fill(accounts, families: families, files: files, store: store)
            try Self.pushAll(accounts, families: families, store: store)
            // The next sign-in: each layer made from its profile copy.
            for (total, user) in Self.concurrently(accounts, { store.prepareLayersBlocking(for: $0, families) }) {
                next.add(total)
                failures += user.failures
                user.layers.forEach { layerNext.add($0) }
            }
            try Self.pushAll(accounts, families: families, store: store)
            // The tools, the same work per user: the layers' directories, the profile copies
            // into them, and one sync of the file system.
            for (total, _) in Self.concurrently(accounts, { account in
                (try? Self.withTools(account, families: families, usersDirectory: directory + "/tools")) ?? ["the tools failed"]
            }) {
                tools.add(total)
            }
            try? fm.removeItem(atPath: directory + "/tools")
            try runTool(["sync", "-f", directory])
        }
        guard failures.isEmpty else { throw BenchError("layers failed: \(failures.prefix(3).joined(separator: "; "))") }
        let ms = { (s: Double) in String(format: "%.1f", s * 1000) }
        printTable(["per user (ms)", "p50", "p95", "max", "n"], [
            ["first sign-in: nothing saved (no layer made)", ms(first.p50), ms(first.percentile(95)), ms(first.percentile(100)), "\(first.count)"],
            ["  one layer", ms(layerFirst.p50), ms(layerFirst.percentile(95)), ms(layerFirst.percentile(100)), "\(layerFirst.count)"],
            ["next sign-in: \(packages) layers from profile copies", ms(next.p50), ms(next.percentile(95)), ms(next.percentile(100)), "\(next.count)"],
            ["  one layer", ms(layerNext.p50), ms(layerNext.percentile(95)), ms(layerNext.percentile(100)), "\(layerNext.count)"],
            ["tools: mkdir -p, cp -a, sync -f", ms(tools.p50), ms(tools.percentile(95)), ms(tools.percentile(100)), "\(tools.count)"],
        ])
        print("next sign-in p50: \(String(format: "%.2f", next.p50 / tools.p50))× the tools; load average \(loadAverage())")
    }

    /// Runs `body` for every account at once; each result with the seconds it took.
    static func concurrently<T: Sendable>(_ accounts: [UserAccount], _ body: @escaping @Sendable (UserAccount) -> T) -> [(Double, T)] {
        let results = Locked<[(Double, T)]>([])
        DispatchQueue.concurrentPerform(iterations: accounts.count) { i in
            var value: T?
            let seconds = timed { value = body(accounts[i]) }
            results.withLock { $0.append((seconds, value!)) }
        }
        return results.withLock { $0 }
    }

    /// A few settings files in each layer's config area, as an app writes them.
    static func fill(_ accounts: [UserAccount], families: [String], files: Int, store: AppDataStore) throws {
        for account in accounts {
            for family in families {
                let dir = "\(store.usersDirectory)/\(account.uid)/\(family)/config/upper/app"
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
                for i in 0..<files { try Data("setting \(i) = \(account.uid)\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/s\(i).conf")) }
                try runTool(["chown", "-R", "\(account.uid):\(account.gid)", "\(store.usersDirectory)/\(account.uid)/\(family)/config/upper"])
            }
        }
    }

    /// Every layer pushed into its profile copy, as sign-out does.
    static func pushAll(_ accounts: [UserAccount], families: [String], store: AppDataStore) throws {
        for account in accounts {
            for family in families { _ = try store.push(for: account, packageFamilyName: family) }
        }
    }

    /// The baseline: one shell, as the user, doing the layers' work with the tools.
    static func withTools(_ account: UserAccount, families: [String], usersDirectory: String) throws -> [String] {
        let mine = "\(usersDirectory)/\(account.uid)"
        try FileManager.default.createDirectory(atPath: mine, withIntermediateDirectories: true)
        chown(mine, account.uid, account.gid)
        var script = "set -e\n"
        for family in families {
            let layer = "\(mine)/\(family)", profile = "\(account.home)/.local/share/appattach/\(family)"
            script += "mkdir -p \(layer)/config/work \(layer)/data/work \(layer)/state/work \(layer)/data/upper \(layer)/state/upper\n"
            script += "if [ -d \(profile)/config ]; then cp -a \(profile)/config \(layer)/config/upper; else mkdir -p \(layer)/config/upper; fi\n"
        }
        script += "sync -f \(mine)\n"
        try runTool(["setpriv", "--reuid=\(account.uid)", "--regid=\(account.gid)", "--init-groups", "sh", "-c", script])
        return []
    }
}

/// One user's `prepareLayers`: the time of each layer and what failed.
struct UserLayers: Sendable {
    var layers: [Double] = []
    var failures: [String] = []
}

extension AppDataStore {
    /// `prepareLayers`, waited for on the calling thread.
    func prepareLayersBlocking(for user: UserAccount, _ families: [String]) -> UserLayers {
        let done = DispatchSemaphore(value: 0)
        let result = Locked(UserLayers())
        Task {
            for item in await prepareLayers(for: user, packageFamilyNames: families) {
                result.withLock { r in
                    r.layers.append(AppDataBenchmark.seconds(item.duration))
                    if case .failure(let error) = item.result { r.failures.append("\(error)") }
                }
            }
            done.signal()
        }
        done.wait()
        return result.withLock { $0 }
    }
}

/// A value shared between threads, behind a lock.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
