import Foundation
import Testing
@testable import Staging

/// The hand-written record JSON: the same bytes `JSONEncoder` writes with the options records
/// always used, so old and new records read back alike.
@Suite struct StagingRecordJSONTests {
    static func encoderOutput(_ image: StagedImage) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(image), as: UTF8.self)
    }

    static let package = StagedPackage(fullName: "Demo.One_1.0.0.0_neutral__8wekyb3d8bbwe",
                                       source: "/run/appattach/images/0123456789abcdef0123/apps/Demo.One_1.0.0.0_neutral__8wekyb3d8bbwe",
                                       mountPoint: "/run/appattach/gates/Demo.One_1.0.0.0_neutral__8wekyb3d8bbwe/package")

    static let samples: [StagedImage] = [
        StagedImage(id: "0123456789abcdef0123", imagePath: "/srv/share/images/app.vhdx",
                    mapping: ImageMapping(offset: 5 << 20, length: 4096, filesystem: .erofs, blockSize: 4096, isBareFilesystem: false),
                    mountPoint: "/run/appattach/images/0123456789abcdef0123", loopDevice: "/dev/loop7",
                    packages: [package, package]),
        // No loop device, no block size, no packages: the optional keys go, the array stays.
        StagedImage(id: "ffffffffffffffffffff", imagePath: "/srv/app.erofs",
                    mapping: ImageMapping(offset: 0, length: UInt64.max, filesystem: .ext4, blockSize: nil, isBareFilesystem: true),
                    mountPoint: "/m", loopDevice: nil, packages: []),
        // Every character class a path may hold: quotes, backslashes, controls, DEL, non-ASCII.
        StagedImage(id: "00000000000000000000", imagePath: "/srv/a \"quoted\" \\ name\n\t\r\u{8}\u{c}\u{1}\u{1f}\u{7f}/é/日本/😀.vhdx",
                    mapping: ImageMapping(offset: 1, length: 10, filesystem: .squashfs, blockSize: 0, isBareFilesystem: false),
                    mountPoint: "/run/x", loopDevice: "", packages: [StagedPackage(fullName: "", source: "\u{0}", mountPoint: "/")],
                    refused: [RefusedPackage(fullName: "Lies_1.0.0.0_neutral__8wekyb3d8bbwe", reason: "its manifest is \"B\"\n\\ é"),
                              RefusedPackage(fullName: "", reason: "")]),
    ]

    @Test("a record written before refused packages were recorded reads as refusing none")
    func olderRecord() throws {
        var text = String(decoding: StagingRecordJSON.encode(Self.samples[0]), as: UTF8.self)
        text = text.replacingOccurrences(of: ",\n  \"refused\" : [\n\n  ]", with: "")
        #expect(!text.contains("refused"))
        let image = try JSONDecoder().decode(StagedImage.self, from: Data(text.utf8))
        #expect(image == Self.samples[0])
    }

    @Test("the record is byte for byte what JSONEncoder writes", arguments: samples)
    func sameBytesAsJSONEncoder(image: StagedImage) throws {
        let ours = String(decoding: StagingRecordJSON.encode(image), as: UTF8.self)
        #expect(ours == (try Self.encoderOutput(image)))
    }

    @Test("JSONDecoder reads the record back to the same value", arguments: samples)
    func decodesBack(image: StagedImage) throws {
        let decoded = try JSONDecoder().decode(StagedImage.self, from: Data(StagingRecordJSON.encode(image)))
        #expect(decoded == image)
    }

    @Test func hexDigits() {
        #expect(HexDigits.string([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
        #expect(HexDigits.string([UInt8]()) == "")
    }
}
