import Foundation
import MSIX
import Testing
import TestSupport
import ZipArchive

@Suite struct UnpackTests {
    /// Unzips `package` with Info-ZIP, drops [Content_Types].xml and percent-decodes names:
    /// what our unpack must produce, byte for byte.
    static func unzipReference(_ package: String, into directory: String) throws -> [String: Data] {
        let result = try TestEnvironment.run(["unzip", "-qq", "-o", package, "-d", directory])
        #expect(result.status == 0, "\(result.output)")
        var files: [String: Data] = [:]
        for (path, (data, _)) in try Fixture.tree(directory) where path != "[Content_Types].xml" {
            files[try PartName.percentDecode(path)] = data
        }
        return files
    }

    @Test(.enabled(if: TestEnvironment.hasTool("unzip"), "needs unzip"), arguments: Fixture.valid)
    func unpackMatchesUnzip(name: String) throws {
        let work = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let expected = try Self.unzipReference(Fixture.path(name), into: work + "/unzip")
        var reported: UInt64 = 0
        let result = try MSIXPackage.open(Fixture.path(name)).unpack(into: work + "/ours") { reported = $0 }
        let actual = try Fixture.tree(work + "/ours")
        #expect(Set(actual.keys) == Set(expected.keys))
        for (path, data) in expected { #expect(actual[path]?.0 == data, "\(path) differs") }
        #expect(result.files == expected.count)
        #expect(result.bytes == UInt64(expected.values.reduce(0) { $0 + $1.count }))
        #expect(reported == result.bytes)
    }

    @Test func modesFollowExecutableRules() throws {
        let work = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let app = work + "/app"
        try FileManager.default.createDirectory(atPath: app + "/lib", withIntermediateDirectories: true)
        try Data("#!/bin/sh\necho hi\n".utf8).write(to: URL(fileURLWithPath: app + "/run.sh"))
        try Data([0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + Array(repeating: 0, count: 100)).write(to: URL(fileURLWithPath: app + "/lib/elf.so"))
        try Data("plain".utf8).write(to: URL(fileURLWithPath: app + "/main"))
        try Data("data".utf8).write(to: URL(fileURLWithPath: app + "/data.txt"))
        try Data("x".utf8).write(to: URL(fileURLWithPath: app + "/tool"))
        chmod(app + "/run.sh", 0o644)
        chmod(app + "/tool", 0o700)
        let package = work + "/modes.msix"
        try PackagePacker.pack(directory: app, output: package,
                               options: PackOptions(name: "Modes.Test", publisher: "CN=Test", version: "1.0.0.0", executable: "main"))
        _ = try MSIXPackage.open(package).unpack(into: work + "/out")
        let tree = try Fixture.tree(work + "/out")
        #expect(tree["run.sh"]?.1 == 0o755, "#! script")
        #expect(tree["lib/elf.so"]?.1 == 0o755, "ELF")
        #expect(tree["main"]?.1 == 0o755, "application executable")
        #expect(tree["tool"]?.1 == 0o755, "x bit in the ZIP")
        #expect(tree["data.txt"]?.1 == 0o644)
        #expect(tree["AppxManifest.xml"]?.1 == 0o644)
    }

    @Test func corruptedBlockIsRefusedAndNothingIsLeftBehind() throws {
        let work = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let copy = work + "/corrupt.appx"
        var data = try Data(contentsOf: URL(fileURLWithPath: Fixture.path("CentennialCoffee.appx")))
        // Flip a byte inside a stored PNG: the ZIP stays well-formed, only the block hash can tell.
        let entry = try #require(try ZipReader.open(Fixture.path("CentennialCoffee.appx")).entry(named: "Assets/StoreLogo.png"))
        #expect(entry.method == .stored)
        let target = Int(entry.dataOffset) + 100
        data[target] ^= 0xFF
        try data.write(to: URL(fileURLWithPath: copy))
        let package = try MSIXPackage.open(copy)
        let destination = work + "/out"
        do {
            _ = try package.unpack(into: destination)
            Issue.record("corrupted package was unpacked")
        } catch {
            #expect(error.kind == .blockMismatch)
            #expect(error.description == "\(copy): block 1 of 'Assets\\StoreLogo.png' does not match the SHA-256 in AppxBlockMap.xml")
        }
        #expect(!FileManager.default.fileExists(atPath: destination))
        #expect(throws: MSIXError.self) { try package.verify() }
        // Without hashes the structure still checks out: only content changed.
        #expect(try package.verify(hashes: false).fileCount == package.blockMap.files.count)
    }

    @Test func unpackRefusesToWriteThroughAPlantedSymlink() throws {
        let work = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let destination = work + "/out"
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: work + "/elsewhere", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: destination + "/Assets", withDestinationPath: work + "/elsewhere")
        #expect(throws: MSIXError.self) { try MSIXPackage.open(Fixture.path("CentennialCoffee.appx")).unpack(into: destination) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: work + "/elsewhere").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: destination) == ["Assets"], "created files were removed")
    }
}
