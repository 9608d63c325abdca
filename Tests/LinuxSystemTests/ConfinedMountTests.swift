import Foundation
import Glibc
import Testing
import TestSupport
@testable import LinuxSystem

/// Beneath-resolution against mounts and FIFOs, for real: a tmpfs mounted below a confined
/// directory is refused (`EXDEV`, named), never entered; the directory itself may be a mount;
/// what a FIFO is comes out without opening it.
@Suite("confined directories: mounts below and FIFOs (root: mounts)", .serialized, .tags(.mounts),
       .enabled(if: TestEnvironment.isRoot, "needs root to mount a tmpfs"))
struct ConfinedMountTests {
    @Test("a mount below the directory is refused by every way in, with the path and the reason; the directory itself may be one")
    func mountBelowIsRefused() throws {
        let directory = TestEnvironment.makeTemporaryDirectory("confined")
        defer { TestEnvironment.removeTemporaryDirectory(directory) }
        // The home itself is a mount, as NFS homes are; a tmpfs at its .config stands for a
        // user's FUSE mount.
        let homePath = directory + "/home", below = homePath + "/.config"
        mkdir(homePath, 0o755)
        try #require(mount("appattach-test", homePath, "tmpfs", 0, "mode=0755") == 0, "mount tmpfs at the home")
        defer { umount2(homePath, 0) }
        mkdir(below, 0o755)
        try #require(mount("appattach-test", below, "tmpfs", 0, "mode=0755") == 0, "mount tmpfs below the home")
        defer { umount2(below, 0) }
        let home = try ConfinedDirectory(path: homePath)
        try home.writeFile("file", [1])
        #expect(try home.kind(of: "file") == .regularFile(size: 1), "the directory's own mount is used")

        let checks: [(String, () throws -> Void)] = [
            ("write", { try home.writeFile(".config/mimeapps.list", [1]) }),
            ("read", { _ = try home.readRegularFile(".config/mimeapps.list") }),
            ("read whole", { _ = try home.readWholeFile(".config/mimeapps.list", limit: 10) }),
            ("kind", { _ = try home.kind(of: ".config") }),
            ("list", { _ = try home.list(".config") }),
            ("open directory", { _ = try home.openDirectory(".config", create: false) }),
        ]
        for (what, check) in checks {
            do {
                try check()
                Issue.record("\(what) through a mount point must be refused")
            } catch let error as SystemCallError {
                #expect(error.errno == EXDEV && error.description.contains("a mount point") && error.description.contains(".config"), "\(what): \(error)")
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: below).isEmpty, "nothing written into the mount")
        let parent = try #require(try home.openDirectory("", create: false))
        #expect(throws: SystemCallError.self) { _ = try parent.status(of: ".config") }
        #expect(throws: SystemCallError.self) { _ = try parent.openDirectory(".config") }
    }

    @Test("a FIFO is told apart by type without being opened; reading one never waits")
    func fifoIsNotOpened() throws {
        let directory = TestEnvironment.makeTemporaryDirectory("confined")
        defer { TestEnvironment.removeTemporaryDirectory(directory) }
        let fifo = directory + "/fifo"
        try #require(mkfifo(fifo, 0o644) == 0)
        // A writer waits in open(2) until the FIFO is opened for reading.
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/bin/sh")
        writer.arguments = ["-c", "echo x > '\(fifo)'"]
        try writer.run()
        defer { if writer.isRunning { kill(writer.processIdentifier, SIGKILL) }; writer.waitUntilExit() }
        usleep(200_000)
        let confined = try ConfinedDirectory(path: directory)
        #expect(try confined.kind(of: "fifo") == .other)
        let parent = try #require(try confined.openDirectory("", create: false))
        #expect(try parent.status(of: "fifo").map { $0.st_mode & S_IFMT } == S_IFIFO)
        usleep(100_000)
        #expect(writer.isRunning, "looking at the FIFO did not open it")
        // Reading opens it without waiting (O_NONBLOCK) and refuses it by type.
        let started = ContinuousClock.now
        #expect(try confined.readRegularFile("fifo") == nil)
        #expect(throws: SystemCallError.self) { _ = try confined.readWholeFile("fifo", limit: 10) }
        #expect(ContinuousClock.now - started < .seconds(1))
    }
}
