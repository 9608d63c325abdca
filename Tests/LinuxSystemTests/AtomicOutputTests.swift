import Foundation
import Glibc
import LinuxSystem
import Testing
import TestSupport

@Suite("atomic output")
struct AtomicOutputTests {
    @Test("a committed file appears whole under its name, durable or not, and no temporary file stays", arguments: [true, false])
    func commit(durable: Bool) throws {
        let dir = TestEnvironment.makeTemporaryDirectory("atomic")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/record.json"
        try AtomicOutput.write(Array("old".utf8), to: path, mode: 0o600, durable: durable)
        try AtomicOutput.write(Array("new and longer".utf8), to: path, mode: 0o600, durable: durable)
        #expect(FileManager.default.contents(atPath: path) == Data("new and longer".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["record.json"])
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
    }

    @Test("output released without commit leaves nothing")
    func discard() throws {
        let dir = TestEnvironment.makeTemporaryDirectory("atomic")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let out = try AtomicOutput(finalPath: dir + "/half", mode: 0o644)
            try out.file.write(Array("half".utf8), at: 0)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }
}
