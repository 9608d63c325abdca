import Agent
import ArgumentParser
import Foundation
import Glibc
import HostPool
import LinuxSystem
import MSIX
import PackageTrust
import Staging

/// `appattach-bench signature`: what checking a package's signature costs at staging. A signed
/// package of about 300 MiB (made here: a CA with openssl, `pack --sign`), unpacked as an image
/// holds it; then, three times each, side by side: the first check at staging (every 64 KiB block
/// of every file hashed against the signed block map, the signature and chain) against
/// `sha256sum` of the same files, and a later stage of the same image, whose verdict is
/// remembered (read back by a restarted agent, and in memory).
struct SignatureBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signature",
        abstract: "Signature checks at staging against sha256sum of the same files.")

    @Option(help: "Size of the package's files in MiB.")
    var megabytes = 300

    @Option(help: "Runs of each measurement.")
    var runs = 3

    @Option(help: "Scratch directory.")
    var directory = "/var/tmp/appattach-bench-signature"

    func run() throws {
        let fm = FileManager.default
        try? fm.removeItem(atPath: directory)
        try fm.createDirectory(atPath: directory + "/ca/trusted", withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: directory) }
        let ca = directory + "/ca"
        try runTool(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca + "/root.key", "-out", ca + "/trusted/root.pem",
                     "-days", "30", "-subj", "/CN=appattach bench root", "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign"])
        try runTool(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", ca + "/leaf.key", "-out", ca + "/leaf.csr",
                     "-subj", "/CN=appattach bench"])
        try "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n"
            .write(toFile: ca + "/leaf.ext", atomically: true, encoding: .utf8)
        try runTool(["openssl", "x509", "-req", "-in", ca + "/leaf.csr", "-CA", ca + "/trusted/root.pem", "-CAkey", ca + "/root.key",
                     "-CAcreateserial", "-out", ca + "/leaf.pem", "-days", "30", "-extfile", ca + "/leaf.ext"])

        let app = directory + "/app"
        let made = try BenchmarkData.makeAppDirectory(at: app, megabytes: megabytes)
        var options = PackOptions(name: "Bench.Signed", publisher: "CN=appattach bench", version: "1.0.0.0")
        options.signer = try PackageSigner(keyFile: ca + "/leaf.key", certificateFile: ca + "/leaf.pem")
        let package = directory + "/signed.msix"
        let packed = try PackagePacker.pack(directory: app, output: package, options: options)
        let fullName = packed.manifest.identity.fullName
        let folder = directory + "/image/apps/" + fullName
        try fm.createDirectory(atPath: directory + "/image/apps", withIntermediateDirectories: true)
        _ = try MSIXPackage.open(package).unpack(into: folder)
        try? fm.removeItem(atPath: app)
        print("package: \(made.files) files, \(made.bytes >> 20) MiB, signed by CN=appattach bench; unpacked at \(folder)")
        print("load average: \(loadAverage()) (\(ProcessInfo.processInfo.activeProcessorCount) cores)")

        let trust = SignatureTrust(anchors: try TrustAnchors.load(ca + "/trusted"))
        var first = Samples(), sums = Samples(), fromFile = Samples(), inMemory = Samples()
        for run in 1...runs {
            first.add(try timed { _ = try UnpackedPackageCheck(trust: trust).check(folder: folder, publisher: "CN=appattach bench") })
            sums.add(try timed { try spawnAndWait(["sh", "-c", "find '\(folder)' -type f -print0 | xargs -0 sha256sum >/dev/null"]) })
            // A later stage of the same image: the verdict made at the first (written beside the
            // runtime's other state) is read back by a new agent, then found in memory.
            let runtime = StagingPaths(runtime: directory + "/run\(run)")
            try fm.createDirectory(atPath: runtime.runtime, withIntermediateDirectories: true)
            let made = SignatureVerdicts(policy: .required, trustedPublishers: ca + "/trusted", paths: runtime)
            guard made.refusal(imageID: "bench", fullName: fullName, folder: folder, publisher: "CN=appattach bench") == nil else {
                throw BenchError("the benchmark's own package was refused")
            }
            let restarted = SignatureVerdicts(policy: .required, trustedPublishers: ca + "/trusted", paths: runtime)
            _ = restarted.anchors  // read once at the agent's start, not per stage
            fromFile.add(timed { _ = restarted.refusal(imageID: "bench", fullName: fullName, folder: folder, publisher: "CN=appattach bench") })
            inMemory.add(timed { _ = restarted.refusal(imageID: "bench", fullName: fullName, folder: folder, publisher: "CN=appattach bench") })
        }
        let ratio = first.p50 / sums.p50
        printTable(["measure (\(runs) runs)", "p50 ms", "max ms", "vs sha256sum"], [
            ["first stage: every block hashed, signature and chain", ms(first.p50), ms(first.maximum), String(format: "%.2fx", ratio)],
            ["sha256sum of the same files", ms(sums.p50), ms(sums.maximum), "1.00x"],
            ["later stage, restarted agent: verdict read back", ms(fromFile.p50), ms(fromFile.maximum), "-"],
            ["later stage, same agent: verdict in memory", ms(inMemory.p50), ms(inMemory.maximum), "-"],
        ])
        print("goals: first stage <= 1.2x sha256sum (\(ratio <= 1.2 ? "met" : "not met")); remembered <= 0.1 ms extra (\(fromFile.p50 <= 0.0001 ? "met" : "not met") read back, \(inMemory.p50 <= 0.0001 ? "met" : "not met") in memory)")
    }
}
