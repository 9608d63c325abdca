import Foundation
import Glibc
import LinuxSystem
import Testing
import TestSupport

/// Real loop devices: attach with an offset, mount, relinquish, unmount, and check that
/// autoclear released the device.
@Suite("loop devices (root: loop devices, mounts)", .serialized, .tags(.attachesLoopDevices, .mounts),
       .enabled(if: TestEnvironment.hasLoopDevices, "needs root and /dev/loop-control"),
       .enabled(if: TestEnvironment.hasTool("mkfs.erofs"), "needs mkfs.erofs"))
struct LoopDeviceTests {
    @Test("attach at an offset, mount read-only, unmount, device released")
    func attachMountRelease() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/tree", withIntermediateDirectories: true)
        try "hello\n".write(toFile: dir + "/tree/greeting", atomically: false, encoding: .utf8)
        try ExternalCommand("mkfs.erofs", ["--quiet", dir + "/fs", dir + "/tree"]).run()
        // Put the filesystem 1 MiB into a file, with junk around it, as a disk image would.
        let fs = try Data(contentsOf: URL(fileURLWithPath: dir + "/fs"))
        var image = Data(repeating: 0xAB, count: 1 << 20)
        image.append(fs)
        image.append(Data(repeating: 0xCD, count: 4096))
        try image.write(to: URL(fileURLWithPath: dir + "/image"))

        let device = try LoopDevice.attach(backingFile: dir + "/image", .init(
            offset: 1 << 20, sizeLimit: UInt64(fs.count), directIO: true, blockSize: 4096, tag: "appattach-test"))
        let number = device.number
        #expect(try SysfsFile.read("/sys/block/loop\(number)/loop/offset") == "1048576")
        #expect(try SysfsFile.read("/sys/block/loop\(number)/loop/autoclear") == "1")
        #expect(try SysfsFile.read("/sys/block/loop\(number)/ro") == "1")
        // The flag read back with LOOP_GET_STATUS64 is the kernel's own view, as sysfs shows it.
        #expect(device.directIO == (try SysfsFile.read("/sys/block/loop\(number)/loop/dio") == "1"))

        try FileManager.default.createDirectory(atPath: dir + "/mnt", withIntermediateDirectories: false)
        try Mount.mountReadOnly(source: device.path, target: dir + "/mnt", type: "erofs")
        device.relinquish()
        defer { umount2(dir + "/mnt", 0) }
        #expect(try String(contentsOfFile: dir + "/mnt/greeting", encoding: .utf8) == "hello\n")
        let entry = try #require(try MountTable.read().first { $0.mountPoint == dir + "/mnt" })
        #expect(entry.options.contains("ro") && entry.options.contains("nosuid") && entry.options.contains("nodev"))

        try Mount.unmount(dir + "/mnt")
        // Autoclear: the device lets go of its backing file once the filesystem is gone.
        var released = false
        for _ in 0..<200 {
            if (try? SysfsFile.read("/sys/block/loop\(number)/loop/backing_file")) == nil { released = true; break }
            usleep(10_000)
        }
        #expect(released)
    }

    @Test("busy unmount is refused with EBUSY, not done lazily")
    func busyUnmountRefused() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/tree", withIntermediateDirectories: true)
        try "x".write(toFile: dir + "/tree/file", atomically: false, encoding: .utf8)
        try ExternalCommand("mkfs.erofs", ["--quiet", dir + "/fs", dir + "/tree"]).run()
        let device = try LoopDevice.attach(backingFile: dir + "/fs", .init(tag: "appattach-test"))
        try FileManager.default.createDirectory(atPath: dir + "/mnt", withIntermediateDirectories: false)
        try Mount.mountReadOnly(source: device.path, target: dir + "/mnt", type: "erofs")
        device.relinquish()
        defer { umount2(dir + "/mnt", 0) }
        do {
            let fd = open(dir + "/mnt/file", O_RDONLY | O_CLOEXEC)
            defer { close(fd) }
            #expect(fd >= 0)
            #expect(throws: SystemCallError("umount", dir + "/mnt", errno: EBUSY)) { try Mount.unmount(dir + "/mnt") }
        }
        try Mount.unmount(dir + "/mnt")
    }
}

@Suite("busy check (root: mounts)", .serialized, .tags(.mounts), .enabled(if: TestEnvironment.isRoot, "needs root to mount"))
struct BusyCheckTests {
    @Test("asking whether an idle mount is busy, twice, never unmounts it")
    func isBusyNeverUnmounts() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/a", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/b", withIntermediateDirectories: true)
        try Mount.bindReadOnly(source: dir + "/a", target: dir + "/b")
        defer { umount2(dir + "/b", 0) }
        #expect(try Mount.isBusy(dir + "/b") == false)
        #expect(try Mount.isBusy(dir + "/b") == false)
        #expect(try MountTable.read().contains { $0.mountPoint == dir + "/b" })
        do {
            let fd = open(dir + "/b", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            defer { close(fd) }
            #expect(try Mount.isBusy(dir + "/b") == true)
        }
        try Mount.unmount(dir + "/b")
    }
}
