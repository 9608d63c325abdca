import Foundation
import Glibc
import Testing
import TestSupport

/// `kill -9` of `appattachctl stage` at its worst moments, then recovery by `appattachctl
/// repair` (`status` only shows): no loop device of ours left without a mount, no mount without
/// its record.
@Suite("crash recovery (root: loop devices, mounts)", .serialized, .tags(.attachesLoopDevices, .mounts),
       .enabled(if: TestEnvironment.hasLoopDevices, "needs root and /dev/loop-control"),
       .enabled(if: TestEnvironment.hasTool("mkfs.erofs"), "needs mkfs.erofs"))
struct CrashRecoveryTests {
    let dir = TestEnvironment.makeTemporaryDirectory("crash")
    var runtime: String { dir + "/run" }
    var image: String { dir + "/app.vhdx" }

    /// Makes the image; each test removes the directory in `cleanUp()`, and it is removed here
    /// if the image cannot be made.
    init() throws {
        do {
            let r = try CommandLineTests.run(["expand", TestEnvironment.msixFixtures + "/TestLinux.msix", "-o", dir + "/app.vhdx",
                                              "--root-directory", "apps"])
            try #require(r.status == 0, "\(r.err)")
        } catch {
            try? FileManager.default.removeItem(atPath: dir)
            throw error
        }
    }

    /// Loop devices whose backing file is this test's image.
    func devices() -> [String] {
        let out = (try? TestEnvironment.run(["losetup", "-n", "-O", "NAME", "-j", image]).output) ?? ""
        return out.split(separator: "\n").map(String.init)
    }

    func mounts() -> [String] {
        mountInfo().split(separator: "\n").filter { $0.contains(runtime + "/") }.map(String.init)
    }

    func ctl(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        setenv("APPATTACH_RUNTIME_DIRECTORY", runtime, 1)
        defer { unsetenv("APPATTACH_RUNTIME_DIRECTORY") }
        return try CommandLineTests.run(arguments)
    }

    /// Starts `appattachctl stage`, waits until it pauses at `point`, and kills it with SIGKILL.
    /// `loopDevice` makes it map the EROFS image with a loop device even where the kernel
    /// could mount the file itself.
    func killStage(at point: String, loopDevice: Bool = false) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLineTests.binary)
        p.arguments = ["stage", image]
        p.environment = ["APPATTACH_PAUSE_AT": point, "APPATTACH_RUNTIME_DIRECTORY": runtime, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        if loopDevice { p.environment?["APPATTACH_EROFS_FILE_BACKED"] = "0" }
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        var said = Data()
        while !String(decoding: said, as: UTF8.self).contains("paused at") {
            let chunk = err.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            said.append(chunk)
        }
        #expect(String(decoding: said, as: UTF8.self).contains("paused at \(point)"))
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    func cleanUp() {
        _ = try? ctl(["destage", image])
        for line in mounts().reversed() {
            let fields = line.split(separator: " ")
            if fields.count > 4 { umount2(String(fields[4]), 0) }
        }
        try? FileManager.default.removeItem(atPath: dir)
    }

    @Test("killed between attach and mount: the kernel frees the device; the next stage works")
    func killedAfterAttach() async throws {
        try await TestEnvironment.onOwnThread {
            defer { cleanUp() }
            try killStage(at: "stage-after-attach", loopDevice: true)
            #expect(waitFor { devices().isEmpty }, "autoclear detaches a device whose only opener died")
            #expect(mounts().isEmpty)
            setenv("APPATTACH_EROFS_FILE_BACKED", "0", 1)
            defer { unsetenv("APPATTACH_EROFS_FILE_BACKED") }
            let r = try ctl(["stage", image])
            #expect(r.status == 0, "\(r.err)")
            #expect(devices().count == 1)
            #expect(try ctl(["destage", image]).status == 0)
            #expect(waitFor { devices().isEmpty })
        }
    }

    @Test("killed after the image mount: status only shows it; repair finishes the stage; destage leaves nothing",
          arguments: [false, true])
    func killedAfterMount(loopDevice: Bool) throws {
        defer { cleanUp() }
        try killStage(at: "stage-after-mount", loopDevice: loopDevice)
        #expect(mounts().count == 1, "the image is mounted, its package not yet exposed")
        if !loopDevice && TestEnvironment.hasFileBackedEROFSAtOffset {
            #expect(devices().isEmpty, "EROFS inside the VHDX is mounted from the file itself")
        }
        // status reads and changes nothing: the kill's leftovers stay for repair.
        let status = try ctl(["status"])
        #expect(status.status == 0, "\(status.err)")
        #expect(!status.out.contains("repaired"), "\(status.out)")
        #expect(mounts().count == 1, "status repaired nothing")
        // The killed stage's lock went with it: repair does not wait for it.
        let started = ContinuousClock.now
        let repair = try ctl(["repair"])
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(repair.status == 0, "\(repair.err)")
        #expect(repair.out.contains("repaired: recorded image"), "\(repair.out)")
        #expect(repair.out.contains("repaired: exposed 1 package"), "\(repair.out)")
        #expect(mounts().count == 2)
        // The offset comes back from the kernel: the loop device's, or the mount's `fsoffset`.
        let after = try ctl(["status"])
        #expect(after.out.contains("maps bytes 5242880…") && after.out.contains("package BestAppExtension_"), "\(after.out)")
        #expect(try ctl(["repair"]).out == "nothing to repair\n")
        let again = try ctl(["stage", image])
        #expect(again.out.contains("already staged"), "\(again.out)")
        #expect(try ctl(["destage", image]).status == 0)
        #expect(mounts().isEmpty)
        #expect(waitFor { devices().isEmpty })
    }

    @Test("repair needs root, and says so", .enabled(if: TestEnvironment.hasTool("setpriv"), "needs setpriv to run as nobody"))
    func repairNeedsRoot() throws {
        defer { cleanUp() }
        let r = try CommandLineTests.run(["repair"], as: "65534")
        #expect(r.status == 1)
        #expect(r.err == "appattachctl: repair needs root\n", "\(r.err)")
    }
}

extension CrashRecoveryTests {
    @Test("a kernel that refuses to mount EROFS from the file gets a loop device instead")
    func fallsBackToLoopDevice() throws {
        defer { cleanUp() }
        let env = ["APPATTACH_REFUSE_AT": "erofs-file-mount", "APPATTACH_RUNTIME_DIRECTORY": runtime,
                   "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        let r = try CommandLineTests.run(["stage", image], environment: env)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains(" on /dev/loop"), "\(r.out)")
        #expect(devices().count == 1)
        let status = try ctl(["status"])
        #expect(status.out.contains("from /dev/loop") && status.out.contains("(direct I/O)"), "\(status.out)")
        #expect(try ctl(["destage", image]).status == 0)
        #expect(waitFor { devices().isEmpty })
        if TestEnvironment.hasFileBackedEROFSAtOffset {
            // Staged again where nothing refuses: from the file, with its remembered mapping.
            let again = try ctl(["stage", image])
            #expect(again.out.contains("straight from the file (no loop device)"), "\(again.out)")
            #expect(devices().isEmpty)
            #expect(try ctl(["destage", image]).status == 0)
        }
    }
}

func waitFor(_ condition: () -> Bool) -> Bool {
    for _ in 0..<200 {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}
