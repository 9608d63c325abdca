import ArgumentParser
import DiskImage
import Foundation
import Glibc
import LinuxSystem
import Staging

/// `appattach-bench stage`: stage then destage each of N images (EROFS and ext4 in fixed VHDX),
/// in-process and through `appattachctl`, side by side with util-linux `mount -o loop` / `umount`
/// on the same images; then the seed's shape: many images staged at once.
struct StageBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stage",
        abstract: "Stage/destage images side by side with mount -o loop / umount (root).")

    @Option(help: "Images per filesystem.")
    var images = 100

    @Option(help: "Images staged at once in the last part (0 to skip).")
    var atOnce = 500

    @Option(help: "Virtual size of each image in MiB (the files are sparse).")
    var virtualMegabytes: UInt64 = 300

    @Option(help: "Scratch directory for the images.")
    var directory = "/var/tmp/appattach-bench-stage"

    @Option(help: "The appattachctl to time (default: APPATTACH_CTL, else the one beside this program).")
    var appattachctl: String?

    func run() throws {
        guard geteuid() == 0 else { throw BenchError("the staging benchmark needs root") }
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // Runtime state on tmpfs, like /run/appattach on a host, but apart from it.
        // /run is a tmpfs on a host; mount one in case this machine's is not.
        let paths = StagingPaths(runtime: "/run/appattach-bench-\(getpid())")
        try fm.createDirectory(atPath: paths.runtime, withIntermediateDirectories: true)
        guard mount("tmpfs", paths.runtime, "tmpfs", UInt(MS_NOSUID) | UInt(MS_NODEV), "mode=0755") == 0 else {
            throw BenchError("cannot mount a tmpfs at \(paths.runtime)")
        }
        defer {
            for id in StagingStatus.read(paths: paths).images.map(\.id) { _ = try? Destage(paths: paths).run(id) }
            umount2(paths.runtime, 0)
            try? fm.removeItem(atPath: paths.runtime)
            try? fm.removeItem(atPath: directory)
        }
        let ctl = appattachctl ?? ProcessInfo.processInfo.environment["APPATTACH_CTL"]
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("appattachctl").path
        let haveCLI = access(ctl, X_OK) == 0
        // The command keeps its records in the same tmpfs as the library runs.
        setenv("APPATTACH_RUNTIME_DIRECTORY", paths.runtime, 1)
        if haveCLI { print("appattachctl: \(ctl)") }

        var rows: [[String]] = []
        for filesystem in ["erofs", "ext4"] where images > 0 {
            let made = try makeImages(count: images, filesystem: filesystem, prefix: filesystem)
            var stage = Samples(), destage = Samples(), mountCLI = Samples(), umountCLI = Samples()
            var stageCLI = Samples(), destageCLI = Samples()
            let mountPoint = directory + "/mnt"
            try fm.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
            for image in made {
                stage.add(try timed { _ = try Stage(paths: paths, mapper: ImageMapping.read).run(image.path) })
                destage.add(try timed { _ = try Destage(paths: paths).run(image.path) })

                let options = "loop,ro,nosuid,nodev,offset=\(image.offset),sizelimit=\(image.size)"
                mountCLI.add(try timed { try spawnAndWait(["mount", "-t", filesystem, "-o", options, image.path, mountPoint]) })
                umountCLI.add(try timed { try spawnAndWait(["umount", mountPoint]) })

                if haveCLI {
                    stageCLI.add(try timed { try spawnAndWait([ctl, "stage", image.path]) })
                    destageCLI.add(try timed { try spawnAndWait([ctl, "destage", image.path]) })
                }
            }
            func row(_ what: String, _ s: Samples) -> [String] { [what, ms(s.p50), ms(s.p95), ms(s.maximum)] }
            rows.append(row("\(filesystem): Stage (library)", stage))
            rows.append(row("\(filesystem): Destage (library)", destage))
            if haveCLI {
                rows.append(row("\(filesystem): appattachctl stage", stageCLI))
                rows.append(row("\(filesystem): appattachctl destage", destageCLI))
            }
            rows.append(row("\(filesystem): mount -o loop (util-linux)", mountCLI))
            rows.append(row("\(filesystem): umount (util-linux)", umountCLI))
            for image in made { unlink(image.path) }
        }
        if images > 0 {
            print("\(images) images per filesystem, each a fixed VHDX of \(virtualMegabytes) MiB (sparse), staged then destaged")
            printTable(["step", "p50 ms", "p95 ms", "max ms"], rows)
        }

        guard atOnce > 0 else { return }
        let many = try makeImages(count: atOnce, filesystem: "erofs", prefix: "many")
        // The kernel creates loop devices past the free ones; remove those again at the end
        // (only unbound ones can be removed, so nobody else's device is touched).
        let devicesBefore = LoopDevice.existingNumbers()
        defer {
            for number in LoopDevice.existingNumbers().subtracting(devicesBefore) { try? LoopDevice.remove(number: number) }
        }
        let rssBefore = residentKiB()
        let stageAll = try timed {
            for image in many { _ = try Stage(paths: paths, mapper: ImageMapping.read).run(image.path) }
        }
        let rssStaged = residentKiB()
        let staged = StagingStatus.read(paths: paths).images.count
        let destageAll = try timed {
            for image in many { _ = try Destage(paths: paths).run(image.path) }
        }
        print("")
        print("\(atOnce) images staged at once (EROFS in VHDX, \(virtualMegabytes) MiB each):")
        printTable(["what", "value"], [
            ["images staged", "\(staged)"],
            ["stage all, total", "\(sec(stageAll)) s (\(ms(stageAll / Double(atOnce))) ms each)"],
            ["destage all, total", "\(sec(destageAll)) s (\(ms(destageAll / Double(atOnce))) ms each)"],
            ["process RSS before / with all staged", "\(rssBefore / 1024) MiB / \(rssStaged / 1024) MiB"],
        ])
        for image in many { unlink(image.path) }
    }

    struct MadeImage { let path: String; let offset: UInt64; let size: UInt64 }

    /// Builds `count` distinct images, each holding one small package of its own name (a
    /// package can be staged from one image at a time).
    private func makeImages(count: Int, filesystem: String, prefix: String) throws -> [MadeImage] {
        var made: [MadeImage] = []
        for i in 0..<count {
            let tree = directory + "/tree"
            try? FileManager.default.removeItem(atPath: tree)
            let package = tree + "/apps/Bench.App\(prefix.capitalized)\(i)_1.0.0.0_neutral__8wekyb3d8bbwe"
            try FileManager.default.createDirectory(atPath: package, withIntermediateDirectories: true)
            try "<Package/>\n".write(toFile: package + "/AppxManifest.xml", atomically: false, encoding: .utf8)
            try Data(repeating: 7, count: 64 << 10).write(to: URL(fileURLWithPath: package + "/payload.bin"))
            let path = "\(directory)/\(prefix)-\(i).vhdx"
            let uuid = UUID().uuidString.lowercased()
            if filesystem == "erofs" {
                try runTool(["mkfs.erofs", "--quiet", "-U\(uuid)", path, tree])
            } else {
                try runTool(["mkfs.ext4", "-q", "-F", "-b", "4096", "-O", "^has_journal", "-U", uuid, "-d", tree, path, "8M"])
            }
            let layout = try DiskImageWriter.wrapFilesystem(at: path, format: .vhdx, virtualSize: virtualMegabytes << 20)
            let range = try layout.requireMapping()
            made.append(MadeImage(path: path, offset: range.offset, size: range.size))
        }
        // Images on a share are not dirty in this host's page cache; freshly written ones are,
        // and a direct-I/O loop device would first wait for their write-back.
        sync()
        return made
    }
}
