import Foundation
import LinuxSystem
import Testing
import TestSupport
@testable import Staging

/// Staging's own SHA-256 against the FIPS 180-4 examples and coreutils' `sha256sum`, and the
/// image id against its definition computed by `sha256sum`: ids must not change.
@Suite struct PlainSHA256Tests {
    static func hex(_ bytes: [UInt8]) -> String { HexDigits.string(bytes) }

    @Test func standardExamples() {
        #expect(Self.hex(PlainSHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Self.hex(PlainSHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Self.hex(PlainSHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var million = PlainSHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { million.update(chunk) }
        #expect(Self.hex(million.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    static func sha256sum(_ bytes: [UInt8], in dir: String) throws -> String {
        let file = dir + "/input"
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let (status, output) = try TestEnvironment.run(["sha256sum", file])
        #expect(status == 0)
        return String(output.prefix(64))
    }

    @Test("every length around the block and padding boundaries, whole and in pieces, matches sha256sum",
          .enabled(if: TestEnvironment.hasTool("sha256sum"), "needs sha256sum"))
    func matchesCoreutils() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var generator = SystemRandomNumberGenerator()
        for length in [1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4096 + 8 + 5] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let expected = try Self.sha256sum(bytes, in: dir)
            #expect(Self.hex(PlainSHA256.hash(bytes)) == expected, "length \(length)")
            var pieces = PlainSHA256()
            var rest = bytes[...]
            while !rest.isEmpty {
                let n = Int.random(in: 1...70, using: &generator)
                pieces.update(Array(rest.prefix(n)))
                rest = rest.dropFirst(n)
            }
            #expect(Self.hex(pieces.finalize()) == expected, "length \(length) in pieces")
        }
    }

    @Test("an image id is the first 20 hex digits of SHA-256(first 4 KiB, length LE64, filesystem name)",
          .enabled(if: TestEnvironment.hasTool("sha256sum"), "needs sha256sum"))
    func imageIDDefinition() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = dir + "/image"
        var generator = SystemRandomNumberGenerator()
        let content = (0..<12288).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try Data(content).write(to: URL(fileURLWithPath: image))
        let mapping = ImageMapping(offset: 1024, length: 8192 + 3, filesystem: .ext4, blockSize: 4096, isBareFilesystem: false)
        let id = try ImageID.compute(file: try OpenFile.openForReading(image), mapping: mapping)
        var input = Array(content[1024..<(1024 + 4096)])
        withUnsafeBytes(of: mapping.length.littleEndian) { input.append(contentsOf: $0) }
        input.append(contentsOf: Array("ext4".utf8))
        #expect(id == String(try Self.sha256sum(input, in: dir).prefix(20)))
        #expect(ImageID.isWellFormed(id))
    }
}
