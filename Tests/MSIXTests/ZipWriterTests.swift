import Foundation
import Testing
import TestSupport
import ZipArchive

@Suite struct ZipWriterTests {
    /// Reads every entry with Python's zipfile: name, method, CRC and content digest, mode.
    static let pythonListing = """
    import sys, zipfile, hashlib
    for i in zipfile.ZipFile(sys.argv[1]).infolist():
        data = zipfile.ZipFile(sys.argv[1]).read(i.filename)
        print(i.filename, i.compress_type, i.file_size, i.compress_size, oct((i.external_attr >> 16) & 0o7777), hashlib.sha256(data).hexdigest())
    """

    static func sampleEntries() -> [(String, [UInt8], ZipCompression, UInt16)] {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let text = Array(String(repeating: "line of text that compresses well\n", count: 9000).utf8)
        return [
            ("empty", [], .automatic(minimumSaving: 0.02), 0o644),
            ("dir/text.txt", text, .deflated, 0o644),
            ("dir/random.bin", random, .automatic(minimumSaving: 0.02), 0o600),
            ("bin/tool", Array("#!/bin/sh\nexit 0\n".utf8), .stored, 0o755),
            ("exact-64k", Array(repeating: 7, count: 65_536), .deflated, 0o644),
            ("ünïcode name.txt", Array("hello".utf8), .deflated, 0o644),
        ]
    }

    @Test(.enabled(if: TestEnvironment.hasTool("unzip"), "needs unzip"))
    func writtenArchiveIsReadIdenticallyByUnzipPythonAndOurReader() throws {
        let directory = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/out.zip"
        let writer = try ZipWriter(path: path)
        let entries = Self.sampleEntries()
        var written: [ZipWrittenEntry] = []
        for (name, bytes, compression, mode) in entries {
            written.append(try writer.add(name: name, bytes: bytes, compression: compression, unixPermissions: mode))
        }
        #expect(!FileManager.default.fileExists(atPath: path), "visible before finish")
        try writer.finish()

        let test = try TestEnvironment.run(["unzip", "-t", path])
        #expect(test.status == 0, "\(test.output)")
        let listing = try Fixture.python(Self.pythonListing, [path]).split(separator: "\n")
        #expect(listing.count == entries.count)
        let reader = try ZipReader.open(path)
        for ((name, bytes, _, mode), (line, entry)) in zip(entries, zip(listing, written)) {
            let fields: [String] = line.split(separator: " ").suffix(5).map(String.init)
            let digestScript = "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())"
            let digestOutput: String = try Fixture.python(digestScript, [try writeTemporary(bytes, in: directory)])
            let digest = digestOutput.trimmingCharacters(in: CharacterSet.whitespacesAndNewlines)
            let modeText = "0o" + String(mode, radix: 8)
            let expected: [String] = [String(entry.method.rawValue), String(bytes.count), String(entry.compressedSize), modeText, digest]
            #expect(line.hasPrefix(name + " "))
            #expect(fields == expected)
            let read = try #require(reader.entry(named: name))
            #expect(read.localHeaderSize == entry.localHeaderSize)
            #expect(read.unixPermissions == mode)
            #expect(try reader.contents(of: read) == bytes)
        }
        // Random data is not worth deflating; text is, and each 64 KiB block has its size.
        #expect(written[2].method == .stored)
        #expect(written[0].method == .stored)
        #expect(written[1].method == .deflated)
        #expect(written[1].blockCompressedSizes.count == (entries[1].1.count + 65_535) / 65_536)
        #expect(written[1].compressedSize == written[1].blockCompressedSizes.reduce(0, +) + 2)
        #expect(written[4].blockCompressedSizes.count == 1)
    }

    @Test func eachDeflatedBlockInflatesOnItsOwn() throws {
        // With Z_FULL_FLUSH the compressed bytes of block k start exactly after those of block k-1.
        let directory = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/blocks.zip"
        let text: [UInt8] = (0..<200_000).map { (i: Int) -> UInt8 in UInt8((i * 7 + i / 1000) % 251) }
        let writer = try ZipWriter(path: path)
        let entry = try writer.add(name: "data", bytes: text, compression: .deflated)
        try writer.finish()
        let script = """
        import sys, zlib
        raw = open(sys.argv[1], 'rb').read()
        start = int(sys.argv[2]); sizes = [int(s) for s in sys.argv[3].split(',')]
        out = b''
        for size in sizes:
            d = zlib.decompressobj(-15)
            out += d.decompress(raw[start:start + size])
            start += size
        print(len(out))
        """
        let offset = entry.localHeaderOffset + entry.localHeaderSize
        let output = try Fixture.python(script, [path, "\(offset)", entry.blockCompressedSizes.map(String.init).joined(separator: ",")])
        #expect(output.trimmingCharacters(in: CharacterSet.whitespacesAndNewlines) == String(text.count))
    }

    @Test func manyEntriesUseZip64EndRecords() throws {
        let directory = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/many.zip"
        let writer = try ZipWriter(path: path)
        for index in 0..<70_000 { try writer.add(name: "f\(index)", bytes: [], compression: .stored) }
        try writer.finish()
        #expect(try ZipReader.open(path).entries.count == 70_000)
        let count = try Fixture.python("import sys, zipfile; print(len(zipfile.ZipFile(sys.argv[1]).infolist()))", [path])
        #expect(count.trimmingCharacters(in: CharacterSet.whitespacesAndNewlines) == "70000")
    }

    @Test func truncatedArchiveIsRefused() throws {
        let directory = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/t.zip"
        let writer = try ZipWriter(path: path)
        try writer.add(name: "a", bytes: Array(repeating: 1, count: 100_000), compression: .deflated)
        try writer.finish()
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        // Point the central directory's first entry past the end of the data.
        let directoryStart = try ZipReader.open(path).centralDirectoryOffset
        data.replaceSubrange(Int(directoryStart) + 42..<Int(directoryStart) + 46, with: [0xF0, 0xFF, 0xFF, 0x0F])
        try data.write(to: URL(fileURLWithPath: path))
        #expect(throws: ZipError.self) { try ZipReader.open(path) }
    }

    private func writeTemporary(_ bytes: [UInt8], in directory: String) throws -> String {
        let path = directory + "/expected-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}
