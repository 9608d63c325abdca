import Foundation
import Glibc
import Testing
import TestSupport

/// `appattachctl status` and `appattachctl repair` run in tight loops, each in a thread of its
/// own, while the test stages and destages an image 50 times with the same binary: status only
/// reads, repair waits for the staging lock, so no stage fails, nothing is detached or
/// unmounted mid-stage, and nothing is left.
@Suite("staging beside status and repair (root: loop devices, mounts)", .serialized, .tags(.attachesLoopDevices, .mounts),
       .enabled(if: TestEnvironment.hasLoopDevices, "needs root and /dev/loop-control"),
       .enabled(if: TestEnvironment.hasTool("mkfs.erofs"), "needs mkfs.erofs"))
struct StagingBesideStatusTests {
    /// Runs the binary in a loop until `stop`, counting runs and keeping what went wrong.
    final class Loop: @unchecked Sendable {
        private let lock = NSLock()
        private var running = true
        private(set) var runs = 0
        private(set) var problems: [String] = []
        private var done = false

        func start(_ arguments: [String], environment: [String: String], check: @escaping @Sendable (Int32, String, String) -> String?) {
            Thread {
                while self.lock.withLock({ self.running }) {
                    let problem: String?
                    do {
                        let r = try CommandLineTests.run(arguments, environment: environment)
                        problem = check(r.status, r.out, r.err)
                    } catch {
                        problem = "\(error)"
                    }
                    self.lock.withLock {
                        self.runs += 1
                        if let problem { self.problems.append(problem) }
                    }
                }
                self.lock.withLock { self.done = true }
            }.start()
        }

        func stop() {
            lock.withLock { running = false }
            while !lock.withLock({ done }) { usleep(1_000) }
        }
    }

    @Test("50 stages and destages beside status and repair in loops: none fails, nothing detached, nothing left")
    func stagingBesideStatusAndRepair() async throws {
        try await TestEnvironment.onOwnThread {
            let dir = TestEnvironment.makeTemporaryDirectory("beside")
            let runtime = dir + "/run", image = dir + "/app.vhdx"
            defer {
                for line in Self.mounts(below: runtime).reversed() { umount2(line, 0) }
                try? FileManager.default.removeItem(atPath: dir)
            }
            let made = try CommandLineTests.run(["expand", TestEnvironment.msixFixtures + "/TestLinux.msix", "-o", image, "--root-directory", "apps"])
            try #require(made.status == 0, "\(made.err)")
            let environment = ["APPATTACH_RUNTIME_DIRECTORY": runtime, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
            // Loop devices: attached before the mount, the moment a repair must not take for a leftover.
            var staging = environment
            staging["APPATTACH_EROFS_FILE_BACKED"] = "0"

            let status = Loop(), repair = Loop()
            status.start(["status"], environment: environment) { code, out, err in
                code != 0 ? "status failed: \(err)" : out.contains("repaired") ? "status repaired: \(out)" : nil
            }
            repair.start(["repair"], environment: environment) { code, _, err in code != 0 ? "repair failed: \(err)" : nil }
            var failures: [String] = []
            for cycle in 0..<50 {
                let staged = try CommandLineTests.run(["stage", image], environment: staging)
                if staged.status != 0 || !staged.out.contains(" on /dev/loop") {
                    failures.append("cycle \(cycle): stage: \(staged.err)\(staged.out)")
                }
                // Both mounts there, the image's on a device still attached to this image.
                let mounted = Self.mounts(below: runtime)
                if mounted.count != 2 { failures.append("cycle \(cycle): \(mounted.count) mounts after the stage: \(mounted)") }
                if Self.devices(of: image).count != 1 { failures.append("cycle \(cycle): devices \(Self.devices(of: image))") }
                let destaged = try CommandLineTests.run(["destage", image], environment: environment)
                if destaged.status != 0 { failures.append("cycle \(cycle): destage: \(destaged.err)") }
            }
            status.stop()
            repair.stop()
            print("50 cycles beside \(status.runs) status and \(repair.runs) repair runs")
            #expect(failures.isEmpty, "\(failures)")
            #expect(status.problems.isEmpty, "\(status.problems)")
            #expect(repair.problems.isEmpty, "\(repair.problems)")
            #expect(status.runs >= 10 && repair.runs >= 10, "status ran \(status.runs) times, repair \(repair.runs)")
            #expect(Self.mounts(below: runtime).isEmpty)
            #expect(waitFor { Self.devices(of: image).isEmpty })
            let records: [String] = (try? FileManager.default.contentsOfDirectory(atPath: runtime + "/staged")) ?? []
            #expect(records.isEmpty, "\(records)")
        }
    }

    /// Mount points below `directory`, in mount order.
    static func mounts(below directory: String) -> [String] {
        var found: [String] = []
        for line in mountInfo().split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count > 4, fields[4].hasPrefix(directory + "/") { found.append(String(fields[4])) }
        }
        return found
    }

    /// Loop devices backed by `image`.
    static func devices(of image: String) -> [String] {
        let out = (try? TestEnvironment.run(["losetup", "-n", "-O", "NAME", "-j", image]).output) ?? ""
        return out.split(separator: "\n").map(String.init)
    }
}

/// `/proc/self/mountinfo` read to its end. `String(contentsOfFile:)` stops after its first
/// read of a file whose size `stat` gives as 0, as /proc's files are: 4 KiB, about 30 mounts,
/// so with other tests' mounts around, this test's own were not seen.
func mountInfo() -> String {
    guard let file = FileHandle(forReadingAtPath: "/proc/self/mountinfo") else { return "" }
    defer { try? file.close() }
    return String(decoding: file.readDataToEndOfFile(), as: UTF8.self)
}
