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

        // Warm: the images' pages are in this host's page cache (just written, then synced).
        // Cold: each image's pages are dropped before each staging, as for an image read from
        // the share for the first time since boot. A buffered loop device (util-linux's) reads
        // warm pages from memory; a direct-I/O one reads from the disk either way.
        let conditions = pageCache == .both ? [PageCache.warm, .cold] : [pageCache]
        var rows: [[String]] = []
        for filesystem in ["erofs", "ext4"] where images > 0 {
            var results: [PageCache: [(String, Samples)]] = [:]
            for condition in conditions {
                results[condition] = try measure(filesystem: filesystem, condition: condition, paths: paths,
                                                 ctl: haveCLI ? ctl : nil)
            }
            for (index, (step, _)) in results[conditions[0]]!.enumerated() {
                var row = ["\(filesystem): \(step)"]
                for condition in conditions {
                    let s = results[condition]![index].1
                    row += [ms(s.p50), ms(s.p95), ms(s.maximum)]
                }
                rows.append(row)
            }
        }
        if images > 0 {
            print("\(images) images per filesystem, each a fixed VHDX of \(virtualMegabytes) MiB (sparse), staged then destaged")
            print("page cache: " + conditions.map { $0 == .warm ? "warm (images cached)" : "cold (images dropped from the cache before each staging)" }.joined(separator: "; "))
            var header = ["step"]
            for condition in conditions { header += ["\(condition) p50", "p95", "max ms"] }
            printTable(header, rows)
        }

        guard atOnce > 0 else { return }
        let many = try makeImages(count: atOnce, filesystem: "erofs", prefix: "many")
        // The kernel creates loop devices past the free ones; remove those again at the end
        // (only unbound ones can be removed, so nobody else's device is touched).
        let devicesBefore = LoopDevice.existingNumbers()
        defer {
            for number in LoopDevice.existingNumbers().subtracting(devicesBefore) { try? LoopDevice.remove(number: number) }
        }
        print("")
        print("\(atOnce) images staged at once (EROFS in VHDX, \(virtualMegabytes) MiB each):")
        var atOnceRows: [[String]] = []
        for fileBacked in [true, false] {
            let how = fileBacked ? "from the files" : "on loop devices"
            for image in many { MappingCache(paths: paths).remove(image.path) }  // each seen for the first time
            let rssBefore = residentKiB()
            let stageAll = try timed {
                for image in many { _ = try Stage(paths: paths, fileBackedEROFS: fileBacked, mapper: ImageMapping.read).run(image.path) }
            }
            let rssStaged = residentKiB()
            let staged = StagingStatus.read(paths: paths).images
            let destageAll = try timed {
                for image in many { _ = try Destage(paths: paths).run(image.path) }
            }
            atOnceRows += [
                ["\(how): images staged (of them on a loop device)", "\(staged.count) (\(staged.filter { $0.loopDevice != nil }.count))"],
                ["\(how): stage all, total", "\(sec(stageAll)) s (\(ms(stageAll / Double(atOnce))) ms each)"],
                ["\(how): destage all, total", "\(sec(destageAll)) s (\(ms(destageAll / Double(atOnce))) ms each)"],
                ["\(how): process RSS before / with all staged", "\(rssBefore / 1024) MiB / \(rssStaged / 1024) MiB"],
            ]
        }
        printTable(["what", "value"], atOnceRows)
        for image in many { unlink(image.path) }
    }

    @Option(help: "The images' pages in the page cache at each staging: warm, cold or both.")
    var pageCache: PageCache = .both

    /// Whether an image's pages are in the page cache when it is staged.
    enum PageCache: String, ExpressibleByArgument, CaseIterable {
        case warm, cold, both
    }

    struct MadeImage { let path: String; let offset: UInt64; let size: UInt64 }

    /// One way of staging: straight from the file or on a loop device, direct I/O or buffered.
    struct Mode {
        let fileBacked: Bool
        let directIO: Bool

        var name: String { "\(fileBacked ? "file-backed" : "loop device"), \(directIO ? "direct I/O" : "buffered")" }

        /// The environment that makes `appattachctl` stage this way.
        func apply() {
            if directIO { unsetenv(Stage.directIOVariable) } else { setenv(Stage.directIOVariable, "0", 1) }
            if fileBacked { unsetenv(Stage.fileBackedVariable) } else { setenv(Stage.fileBackedVariable, "0", 1) }
        }

        /// EROFS: from the file (the default), on a direct-I/O loop device, and from the file
        /// buffered; ext4, which needs a block device: direct I/O (the default) and buffered.
        static func all(for filesystem: String) -> [Mode] {
            filesystem == "erofs"
                ? [Mode(fileBacked: true, directIO: true), Mode(fileBacked: false, directIO: true), Mode(fileBacked: true, directIO: false)]
                : [Mode(fileBacked: false, directIO: true), Mode(fileBacked: false, directIO: false)]
        }
    }

    /// Stages and destages fresh images of `filesystem` with each tool in turn: the library
    /// and `ctl` in each `Mode`, and util-linux.
    private func measure(filesystem: String, condition: PageCache, paths: StagingPaths,
                         ctl: String?) throws -> [(String, Samples)] {
        let made = try makeImages(count: images, filesystem: filesystem, prefix: filesystem)
        defer { for image in made { unlink(image.path) } }
        let mountPoint = directory + "/mnt"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        var steps: [(String, Samples)] = []
        func record(_ index: Int, _ name: String, _ seconds: Double) {
            if steps.count <= index { steps.append((name, Samples())) }
            steps[index].1.add(seconds)
        }
        let modes = Mode.all(for: filesystem)
        for image in made {
            var index = 0
            func step(_ name: String, _ body: () throws -> Void) throws {
                record(index, name, try timed(body))
                index += 1
            }
            func prepare() { if condition == .cold { Self.dropFromPageCache(image.path) } }
            // Each tool first stages the image as never seen before (`MappingCache` forgets it),
            // and then, in its default mode, again as an image this host has staged before.
            let cache = MappingCache(paths: paths)
            for mode in modes {
                prepare()
                cache.remove(image.path)
                try step("Stage (library, \(mode.name))") {
                    _ = try Stage(paths: paths, directIO: mode.directIO, fileBackedEROFS: mode.fileBacked, mapper: ImageMapping.read).run(image.path)
                }
                try step("Destage (library, \(mode.name))") { _ = try Destage(paths: paths).run(image.path) }
            }
            prepare()
            try step("Stage (library, \(modes[0].name), seen before)") {
                _ = try Stage(paths: paths, mapper: ImageMapping.read).run(image.path)
            }
            try step("Destage (library, \(modes[0].name), seen before)") { _ = try Destage(paths: paths).run(image.path) }
            prepare()
            let options = "loop,ro,nosuid,nodev,offset=\(image.offset),sizelimit=\(image.size)"
            try step("mount -o loop (util-linux)") { try spawnAndWait(["mount", "-t", filesystem, "-o", options, image.path, mountPoint]) }
            try step("umount (util-linux)") { try spawnAndWait(["umount", mountPoint]) }
            guard let ctl else { continue }
            for mode in modes {
                prepare()
                cache.remove(image.path)
                mode.apply()
                defer { Mode(fileBacked: true, directIO: true).apply() }
                try step("appattachctl stage (\(mode.name))") { try spawnAndWait([ctl, "stage", image.path]) }
                try step("appattachctl destage (\(mode.name))") { try spawnAndWait([ctl, "destage", image.path]) }
            }
            prepare()
            try step("appattachctl stage (\(modes[0].name), seen before)") { try spawnAndWait([ctl, "stage", image.path]) }
            try step("appattachctl destage (\(modes[0].name), seen before)") { try spawnAndWait([ctl, "destage", image.path]) }
        }
        return steps
    }

    /// Drops a file's pages from the page cache (they are clean: the images were synced).
    static func dropFromPageCache(_ path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
        close(fd)
    }

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
            // Canonical, as `Stage` names it (the mapping cache is keyed by that name).
            let path = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path + "/\(prefix)-\(i).vhdx"
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
