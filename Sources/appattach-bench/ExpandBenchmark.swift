import ArgumentParser
import Expand
import Foundation
import MSIX

/// `appattach-bench expand`: `appattachctl expand` (VHDX + EROFS) against `unzip` + `mkfs.erofs`
/// of the same package, alternating, in one run.
struct ExpandBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expand",
        abstract: "Expand a generated package into VHDX+EROFS, side by side with unzip + mkfs.erofs.")

    @Option(help: "Size of the generated app in MiB.")
    var megabytes = 300

    @Option(help: "Runs of each.")
    var runs = 3

    @Option(help: "Scratch directory (on the filesystem the images would be built on).")
    var directory = "/var/tmp/appattach-bench-expand"

    func run() throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: directory) }
        let app = directory + "/app", package = directory + "/bench.msix"

        var generated = (files: 0, bytes: 0)
        let generateTime = try timed { generated = try BenchmarkData.makeAppDirectory(at: app, megabytes: megabytes) }
        let packTime = try timed {
            _ = try PackagePacker.pack(directory: app, output: package,
                                       options: PackOptions(publisher: "CN=appattach benchmark", version: "1.0.0.0"))
        }
        try? fm.removeItem(atPath: app)
        let packageSize = (try? fm.attributesOfItem(atPath: package)[.size] as? Int) ?? 0
        print("package: \(generated.files) files, \(generated.bytes >> 20) MiB payload, \(packageSize >> 20) MiB as MSIX "
              + "(generated in \(sec(generateTime)) s, packed in \(sec(packTime)) s)")

        var rows: [[String]] = []
        var ratios: [Double] = []
        for run in 1...runs {
            let base = directory + "/unzipped", baseImage = directory + "/baseline.erofs"
            let unzipTime = try timed { try runTool(["unzip", "-q", "-o", package, "-d", base]) }
            let mkfsTime = try timed { try runTool(["mkfs.erofs", "--quiet", baseImage, base]) }
            try? fm.removeItem(atPath: base)
            try? fm.removeItem(atPath: baseImage)

            let steps = StepTimer()
            let image = directory + "/bench.vhdx"
            let oursTime = try timed {
                _ = try Expand(ExpandOptions(packages: [package], output: image, format: .vhdx,
                                             filesystem: .erofs, rootDirectory: "apps"), progress: steps).run()
            }
            try? fm.removeItem(atPath: image)
            let baseline = unzipTime + mkfsTime
            ratios.append(oursTime / baseline)
            rows.append(["\(run)", sec(unzipTime), sec(mkfsTime), sec(baseline), sec(oursTime),
                         String(format: "%.2f×", oursTime / baseline), steps.summary])
        }
        printTable(["run", "unzip s", "mkfs.erofs s", "baseline s", "appattach s", "ratio", "appattach steps (s)"], rows)
        let median = ratios.sorted()[ratios.count / 2]
        print(String(format: "median ratio appattach / baseline: %.2f× (target ≤ 1.30×)", median))
    }
}

/// Collects how long each expand step took.
final class StepTimer: ExpandProgress {
    private var current: (String, Double)?
    private var durations: [(String, Double)] = []

    func begin(step: String, item: String, index: Int, count: Int) { close(); current = (step, now()) }
    func advance(bytes: UInt64) {}
    func finish() { close() }

    private func close() {
        if let (step, start) = current {
            if let i = durations.firstIndex(where: { $0.0 == step }) { durations[i].1 += now() - start }
            else { durations.append((step, now() - start)) }
        }
        current = nil
    }

    var summary: String { durations.map { "\($0.0) \(String(format: "%.2f", $0.1))" }.joined(separator: ", ") }
}
