import Foundation
import Glibc
import LinuxSystem
import Testing
import TestSupport

/// `ConfinedDirectory.readWholeFile`, which read-modify-write of a user's file relies on:
/// all of the file and its mode, "nothing there" only when nothing is there, and a refusal
/// with the reason for anything it must not rewrite.
@Suite("reading a whole file for a rewrite")
struct ConfinedDirectoryWholeFileTests {
    @Test("missing: nil; a file: every byte, past any first buffer, and its mode")
    func readsWholeWithMode() throws {
        let root = TestEnvironment.makeTemporaryDirectory("whole")
        defer { TestEnvironment.removeTemporaryDirectory(root) }
        let directory = try ConfinedDirectory(path: root)
        #expect(try directory.readWholeFile("missing", limit: 1 << 20) == nil)
        #expect(try directory.readWholeFile("no/such/dir/file", limit: 1 << 20) == nil)

        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try Data(bytes).write(to: URL(fileURLWithPath: root + "/big"))
        chmod(root + "/big", 0o4640)
        #expect(try directory.readWholeFile("big", limit: 1 << 20) == .init(bytes: bytes, mode: 0o4640))
        // Exactly the limit is still read.
        #expect(try directory.readWholeFile("big", limit: bytes.count)?.bytes == bytes)
        _ = FileManager.default.createFile(atPath: root + "/empty", contents: nil)
        #expect(try directory.readWholeFile("empty", limit: 0)?.bytes == [])
    }

    @Test("longer than the limit: refused with the file, the sizes and the reason")
    func refusesPastTheLimit() throws {
        let root = TestEnvironment.makeTemporaryDirectory("whole")
        defer { TestEnvironment.removeTemporaryDirectory(root) }
        let directory = try ConfinedDirectory(path: root)
        try Data(count: (2 << 20) + 1).write(to: URL(fileURLWithPath: root + "/long"))
        #expect {
            try directory.readWholeFile("long", limit: 2 << 20)
        } throws: { error in
            let error = error as? SystemCallError
            return error?.errno == EFBIG
                && error?.description == "read (2097153 bytes (2 MiB), more than the 2 MiB appattach rewrites; left as it is) '\(root)/long': File too large"
        }
    }

    @Test("a symbolic link, a directory, a FIFO: refused, never taken for no file (a rewrite would replace them)")
    func refusesWhatIsNotARegularFile() throws {
        let root = TestEnvironment.makeTemporaryDirectory("whole")
        defer { TestEnvironment.removeTemporaryDirectory(root) }
        let directory = try ConfinedDirectory(path: root)
        try "secret".write(toFile: root + "/target", atomically: false, encoding: .utf8)
        symlink(root + "/target", root + "/link")
        mkdir(root + "/dir", 0o755)
        mkfifo(root + "/fifo", 0o644)
        for (name, reason) in [("link", "open (symbolic link, not followed)"), ("dir", "open (not a regular file)"),
                               ("fifo", "open (not a regular file)")] {
            #expect("\(name)") {
                try directory.readWholeFile(name, limit: 1 << 20)
            } throws: { error in
                "\(error)".hasPrefix("\(reason) '\(root)/\(name)': ")
            }
        }
    }
}
