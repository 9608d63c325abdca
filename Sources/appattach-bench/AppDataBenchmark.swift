import AppData
import ArgumentParser
import Foundation
import Glibc
import LinuxSystem

/// `appattach-bench appdata`: push and restore of one user's layer (a throwaway account made
/// for the run) the way the agent does them at sign-out and sign-in, as the user, with the
/// push's durability (syncfs, exchange, fsync); beside `cp -a` of the same tree as the same
/// user, with and without `sync -f` after it.
struct AppDataBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "appdata",
        abstract: "Push/restore a user's app data layer side by side with cp -a (root).")

    @Option(help: "Size of the layer's config tree in MiB.")
    var megabytes = 50

    @Option(help: "Number of files in it.")
    var files = 2_000

    @Option(help: "Repetitions (the table shows the median).")
    var runs = 5

    @Option(help: "Scratch directory (layers and the throwaway user's home go below it).")
    var directory = "/var/tmp/appattach-bench-appdata"

    func run() throws {
        guard geteuid() == 0 else { throw BenchError("the app data benchmark needs root (it makes a throwaway user)") }
        let fm = FileManager.default
        try? fm.removeItem(atPath: directory)
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let name = "aabench" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let home = directory + "/" + name
        try runTool(["useradd", "--no-create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin", "--user-group", name])
        defer {
            _ = try? runTool(["userdel", name])
            _ = try? runTool(["groupdel", name])
            try? fm.removeItem(atPath: directory)
        }
        guard let user = try Accounts.account(named: name) else { throw BenchError("useradd made no user \(name)") }
        mkdir(home, 0o700)
        chown(home, user.uid, user.gid)
        let family = "Bench.AppData_8wekyb3d8bbwe"
        let store = AppDataStore(usersDirectory: directory + "/users", files: UserFiles())
        _ = try store.prepareLayer(for: user, packageFamilyName: family)
        let layer = "\(directory)/users/\(user.uid)/\(family)"
        let (count, bytes) = try Self.makeTree(at: layer + "/config/upper/app", files: files, bytes: megabytes << 20)
        try runTool(["chown", "-R", "\(user.uid):\(user.gid)", layer + "/config/upper"])
        print("layer: \(count) files, \(bytes / 1_048_576) MiB in \(layer)/config/upper; profile in \(home); \(runs) runs, median")

        var push = Samples(), pushCopy = Samples(), pushSync = Samples(), pushRemove = Samples(), restore = Samples(), cp = Samples(), cpSync = Samples()
        var cpSyncRemove = Samples()
        let asUser = ["setpriv", "--reuid=\(user.uid)", "--regid=\(user.gid)", "--init-groups"]
        // Each operation starts on a settled file system: what an earlier step removed is
        // committed (and, on a file system mounted with `discard`, discarded) before it, so
        // that no step's sync pays for another's deletions.
        let settle = { try runTool(["sync", "-f", home]) }
        for _ in 0..<runs {
            // cp -a of the same tree, as the user, into the same home.
            try settle()
            cp.add(try timed { try runTool(asUser + ["cp", "-a", layer + "/config/upper", home + "/cp-copy"]) })
            try runTool(["rm", "-rf", home + "/cp-copy"])
            try settle()
            cpSync.add(try timed {
                try runTool(asUser + ["cp", "-a", layer + "/config/upper", home + "/cp-copy"])
                try runTool(asUser + ["sync", "-f", home + "/cp-copy"])
            })
            try runTool(["rm", "-rf", home + "/cp-copy"])
            // What a whole push does, with the tools: a source and a previous copy (made
            // untimed), then cp -a, sync -f, and both removed.
            try runTool(asUser + ["cp", "-a", layer + "/config/upper", home + "/cp-source"])
            try runTool(asUser + ["cp", "-a", layer + "/config/upper", home + "/cp-previous"])
            try settle()
            cpSyncRemove.add(try timed {
                try runTool(asUser + ["cp", "-a", home + "/cp-source", home + "/cp-copy"])
                try runTool(asUser + ["sync", "-f", home + "/cp-copy"])
                try runTool(asUser + ["rm", "-rf", home + "/cp-previous", home + "/cp-source"])
            })
            try runTool(["rm", "-rf", home + "/cp-copy"])
            try settle()
            var phases: AppDataStore.Push?
            push.add(try timed { phases = try store.push(for: user, packageFamilyName: family) })
            if let phases {
                pushCopy.add(Self.seconds(phases.copying))
                pushSync.add(Self.seconds(phases.syncing))
                pushRemove.add(Self.seconds(phases.removing))
            }
            try settle()
            restore.add(try timed { _ = try store.prepareLayer(for: user, packageFamilyName: family) })
        }
        let base = cp.p50, baseSync = cpSync.p50
        let durable = pushCopy.p50 + pushSync.p50
        printTable(["operation (as the user)", "median s", "× cp -a", "× cp -a + sync -f"], [
            ["push, until the new copy is durable in the profile", sec(durable), String(format: "%.2f", durable / base), String(format: "%.2f", durable / baseSync)],
            ["  of which: copy", sec(pushCopy.p50), "", ""],
            ["  of which: syncfs, exchange, fsync", sec(pushSync.p50), "", ""],
            ["  then: remove the previous copy and the layer", sec(pushRemove.p50), "", ""],
            ["push, all of it", sec(push.p50), String(format: "%.2f", push.p50 / base), String(format: "%.2f", push.p50 / baseSync)],
            ["restore: copy into a new layer, syncfs, rename", sec(restore.p50), String(format: "%.2f", restore.p50 / base), String(format: "%.2f", restore.p50 / baseSync)],
            ["cp -a", sec(base), "1.00", String(format: "%.2f", base / baseSync)],
            ["cp -a + sync -f", sec(baseSync), String(format: "%.2f", baseSync / base), "1.00"],
            ["cp -a + sync -f + rm -rf of source and previous copy (a whole push's work)", sec(cpSyncRemove.p50),
             String(format: "%.2f", cpSyncRemove.p50 / base), String(format: "%.2f", cpSyncRemove.p50 / baseSync)],
        ])
        print("push, all of it: \(String(format: "%.2f", push.p50 / cpSyncRemove.p50))× the tools doing the same work")
    }

    /// `count` files totalling about `bytes`, sizes spread from 1 KiB to about twice the mean,
    /// in 40 directories two levels deep; deterministic content.
    static func makeTree(at root: String, files count: Int, bytes: Int) throws -> (Int, Int) {
        var rng = SplitMix64(seed: 7)
        let mean = bytes / max(count, 1)
        var total = 0
        for i in 0..<count {
            let dir = "\(root)/d\(i % 8)/e\(i % 5)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let size = i == count - 1 ? max(bytes - total, 1024) : rng.next(in: 1024...max(2 * mean - 1024, 1025))
            var data = Data(count: size)
            data.withUnsafeMutableBytes { raw in
                let words = raw.bindMemory(to: UInt64.self)
                for j in 0..<words.count { words[j] = rng.next() }
            }
            try data.write(to: URL(fileURLWithPath: "\(dir)/f\(i).dat"))
            total += size
        }
        return (count, total)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
