import Foundation
import Testing
import TestSupport
@testable import DiskImage

@Suite struct ImageReportTests {
    @Test(.enabled(if: ImageFixtures.have("mkfs.erofs"), "needs mkfs.erofs"))
    func reportOfOurImageRoundTripsAndReadsWell() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fs = try ImageFixtures.makeErofs(in: dir)
        let path = dir + "/report.vhdx"
        try ImageFixtures.copy(fs, path)
        let layout = try DiskImageWriter.wrapFilesystem(at: path, format: .vhdx)
        let report = ImageReport(layout)

        let json = try JSONEncoder().encode(report)
        #expect(try JSONDecoder().decode(ImageReport.self, from: json) == report)
        let object = try JSONSerialization.jsonObject(with: json) as! [String: Any]
        #expect(object["container"] as? String == "vhdx-fixed")
        #expect(object["partitionTable"] as? String == "gpt")
        let attach = object["attach"] as! [String: Any]
        #expect(attach["mappable"] as? Bool == true)
        #expect((attach["offset"] as? NSNumber)?.uint64Value == layout.mapping?.offset)
        #expect((attach["sizeLimit"] as? NSNumber)?.uint64Value == layout.mapping?.size)
        #expect((object["filesystem"] as? [String: Any])?["type"] as? String == "erofs")

        let text = report.text
        #expect(text.hasPrefix(path + "\n"))
        #expect(text.contains("VHDX, fixed (block size 1 MiB, sectors 512/4096)"))
        #expect(text.contains("Linux filesystem (0FC63DAF-8483-4772-8E79-3D69D8477DE4) \"appattach\"  <- filesystem"))
        #expect(text.contains("offset \(layout.mapping!.offset), sizelimit \(layout.mapping!.size)"))
    }

    @Test func unmappableReasonIsShown() {
        let layout = ImageLayout(path: "d.vhd", fileSize: 1, container: .vhdDynamic, virtualSize: 3 << 20, blockSize: 2 << 20,
                                 logicalSectorSize: 512, physicalSectorSize: nil, diskID: nil, parent: nil,
                                 partitionTable: .none, partitionTableID: nil, partitions: [], selectedPartition: nil,
                                 filesystem: .ext4, mapping: nil, unmappableReason: "blocks are not contiguous")
        #expect(ImageReport(layout).text.contains("cannot map: blocks are not contiguous"))
        #expect(ImageReport.size(3 << 20) == "3 MiB")
        #expect(ImageReport.size(1536 << 20) == "1.5 GiB")
        #expect(ImageReport.size(512) == "512 B")
    }
}
