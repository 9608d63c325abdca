import Expand
import Foundation
import Glibc
import MSIX
import Testing
import TestSupport

/// Expanding real packages, checked with independent tools: fsck.erofs extracts the filesystem,
/// Python's zipfile reads the package, qemu-img checks the container.
@Suite("expand", .serialized, .enabled(if: TestEnvironment.hasTool("mkfs.erofs"), "needs mkfs.erofs (erofs-utils)"))
struct ExpandTests {
    static let validFixtures = ["TestLinux.msix", "existingPackage.msix", "TestAppxPackage_x64.appx", "CentennialCoffee.appx"]

    @Test("EROFS file holds exactly the package payload", arguments: validFixtures)
    func erofsContentsMatchThePackage(fixture: String) throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { TestEnvironment.removeTemporaryDirectory(dir) }
        let package = TestEnvironment.msixFixtures + "/" + fixture
        let image = dir + "/out.erofs"
        let result = try Expand(ExpandOptions(packages: [package], output: image, format: .erofs)).run()
        #expect(result.packages.count == 1)

        let extracted = dir + "/x"
        let (status, output) = try TestEnvironment.run(["fsck.erofs", "--extract=\(extracted)", "--no-preserve", image])
        #expect(status == 0, "fsck.erofs: \(output)")

        let fullName = try MSIXPackage.open(package).manifest.identity.fullName
        let expected = try TreeDigest.ofPackage(package)
        let actual = try TreeDigest.ofDirectory(extracted + "/" + fullName)
        #expect(actual == expected)
        #expect(actual["[Content_Types].xml"] == nil)
        #expect(actual["AppxManifest.xml"] != nil)
        #expect(try directoryEntries(dir) == ["out.erofs", "x"], "no work files left beside the image")
    }

    @Test("VHDX and VHD pass qemu-img check and hold the filesystem at the reported offset",
          .enabled(if: TestEnvironment.hasTool("qemu-img") && TestEnvironment.hasTool("vhdiinfo"),
                   "needs qemu-img and vhdiinfo (libvhdi-utils): the VHD case checks with vhdiinfo"),
          arguments: [ImageFormat.vhdx, .vhd])
    func containersAreValid(format: ImageFormat) throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { TestEnvironment.removeTemporaryDirectory(dir) }
        let package = TestEnvironment.msixFixtures + "/CentennialCoffee.appx"
        let image = dir + "/out.\(format.rawValue)"
        let result = try Expand(ExpandOptions(packages: [package], output: image, format: format,
                                              rootDirectory: "apps")).run()
        // qemu-img probes VHDX by its signature; a fixed VHD has only a footer, so it is named
        // (`-f vpc`), and qemu-img check has no VHD support: vhdiinfo checks that one instead.
        let qemuFormat = format == .vhdx ? "vhdx" : "vpc"
        if format == .vhdx {
            let check = try TestEnvironment.run(["qemu-img", "check", image])
            #expect(check.status == 0, "qemu-img check: \(check.output)")
            let info = try TestEnvironment.run(["qemu-img", "info", "--output=json", image])
            #expect(info.output.contains("\"format\": \"vhdx\""), "\(info.output)")
        } else {
            let info = try TestEnvironment.run(["vhdiinfo", image])
            #expect(info.status == 0 && info.output.contains("Fixed"), "vhdiinfo: \(info.output)")
        }

        // Convert to raw with qemu-img, cut the partition out where util-linux says it is,
        // and let fsck.erofs extract it.
        let raw = dir + "/disk.raw"
        #expect(try TestEnvironment.run(["qemu-img", "convert", "-f", qemuFormat, "-O", "raw", image, raw]).status == 0)
        let mapping = try #require(result.layout?.mapping)
        // Where the partition starts, according to util-linux's sfdisk rather than our reader.
        let table = try TestEnvironment.run(["sfdisk", "--json", raw])
        let json = try JSONSerialization.jsonObject(with: Data(table.output.utf8)) as? [String: Any]
        let partitions = (json?["partitiontable"] as? [String: Any])?["partitions"] as? [[String: Any]]
        let startSector = try #require(partitions?.first?["start"] as? Int)
        #expect(startSector == 2048, "one partition at 1 MiB")
        let fs = dir + "/fs.erofs"
        let dd = try TestEnvironment.run(["dd", "if=\(raw)", "of=\(fs)", "bs=1M", "iflag=skip_bytes,count_bytes",
                                          "skip=\(startSector * 512)", "count=\(mapping.size)"])
        #expect(dd.status == 0, "dd: \(dd.output)")
        let extracted = dir + "/x"
        #expect(try TestEnvironment.run(["fsck.erofs", "--extract=\(extracted)", "--no-preserve", fs]).status == 0)
        let fullName = try MSIXPackage.open(package).manifest.identity.fullName
        #expect(try TreeDigest.ofDirectory(extracted + "/apps/" + fullName) == TreeDigest.ofPackage(package))
    }

    @Test("a package with a bad block leaves nothing behind")
    func badBlockLeavesNothing() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { TestEnvironment.removeTemporaryDirectory(dir) }
        let image = dir + "/bad.vhdx"
        #expect(throws: (any Error).self) {
            try Expand(ExpandOptions(packages: [TestEnvironment.msixFixtures + "/invalid/Invalid_Bad_Block.msix"],
                                     output: image)).run()
        }
        #expect(try directoryEntries(dir) == [])
    }

    @Test("two packages with the same full name are refused")
    func duplicatePackagesRefused() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { TestEnvironment.removeTemporaryDirectory(dir) }
        let package = TestEnvironment.msixFixtures + "/TestLinux.msix"
        #expect(throws: ExpandError.self) {
            try Expand(ExpandOptions(packages: [package, package], output: dir + "/x.vhdx")).run()
        }
        #expect(try directoryEntries(dir) == [])
    }

    @Test("several packages go into one image")
    func severalPackages() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { TestEnvironment.removeTemporaryDirectory(dir) }
        let packages = ["TestLinux.msix", "existingPackage.msix"].map { TestEnvironment.msixFixtures + "/" + $0 }
        let image = dir + "/two.erofs"
        let result = try Expand(ExpandOptions(packages: packages, output: image, format: .erofs)).run()
        #expect(result.packages.count == 2)
        let extracted = dir + "/x"
        #expect(try TestEnvironment.run(["fsck.erofs", "--extract=\(extracted)", "--no-preserve", image]).status == 0)
        for package in packages {
            let name = try MSIXPackage.open(package).manifest.identity.fullName
            #expect(try TreeDigest.ofDirectory(extracted + "/" + name) == TreeDigest.ofPackage(package))
        }
    }

    private func directoryEntries(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    }
}
