import Foundation
import Testing
import TestSupport
@testable import Staging

/// Which folders of a mounted image are exposed as packages: a folder named like a
/// PackageFullName holding an `AppxManifest.xml` regular file, at the root or one level below.
@Suite struct PackageDiscoveryTests {
    @Test func findsPackagesAtTheRootAndOneLevelBelow() throws {
        let root = TestEnvironment.makeTemporaryDirectory("discovery")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        func package(_ path: String, manifest: Bool = true) throws {
            try fm.createDirectory(atPath: root + "/" + path, withIntermediateDirectories: true)
            if manifest { try "<Package/>".write(toFile: root + "/" + path + "/AppxManifest.xml", atomically: false, encoding: .utf8) }
        }
        try package("Top_1.0.0.0_x64__8wekyb3d8bbwe")
        try package("apps/Nested_2.0.0.0_neutral__8wekyb3d8bbwe")
        // Not packages: no manifest; a name without the five fields; two levels down;
        // ext4's lost+found; a manifest that is a directory; a symbolic link to a package.
        try package("Empty_1.0.0.0_x64__8wekyb3d8bbwe", manifest: false)
        try package("NotAFullName")
        try package("apps/deeper/Deep_1.0.0.0_x64__8wekyb3d8bbwe")
        try package("lost+found/Lost_1.0.0.0_x64__8wekyb3d8bbwe")
        try fm.createDirectory(atPath: root + "/Odd_1.0.0.0_x64__8wekyb3d8bbwe/AppxManifest.xml", withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: root + "/Link_1.0.0.0_x64__8wekyb3d8bbwe", withDestinationPath: "Top_1.0.0.0_x64__8wekyb3d8bbwe")
        try "x".write(toFile: root + "/File_1.0.0.0_x64__8wekyb3d8bbwe", atomically: false, encoding: .utf8)

        let found = PackageDiscovery.packages(in: root)
        #expect(found.map(\.0) == ["Nested_2.0.0.0_neutral__8wekyb3d8bbwe", "Top_1.0.0.0_x64__8wekyb3d8bbwe"])
        #expect(found.map(\.1) == [root + "/apps/Nested_2.0.0.0_neutral__8wekyb3d8bbwe", root + "/Top_1.0.0.0_x64__8wekyb3d8bbwe"])
    }
}
