import Foundation
import Registration
import Testing
import TestSupport

@Suite struct PackageIntegrationTests {
    let fixture = CoffeeFixture.shared
    let pfn = CoffeeFixture.familyName

    @Test func iconsAreSortedIntoThemeSizesFromTheLogoVariants() throws {
        let base = fixture.sharedDir + "/icons/hicolor"
        let name = "apps/appattach-\(pfn)-CCoffee.png"
        // targetsize-16/32/48/256, the 44 px plain logo and the 150 px tile logo.
        let expected: [Int: String] = [16: "AppList.targetsize-16.png", 24: "AppList.targetsize-32.png", 32: "AppList.targetsize-32.png",
                                       48: "AppList.targetsize-48.png", 64: "AppList.targetsize-48.png", 96: "Logo.png",
                                       128: "Logo.png", 256: "AppList.targetsize-256.png", 512: "AppList.targetsize-256.png"]
        for (size, source) in expected {
            let written = try Data(contentsOf: URL(fileURLWithPath: "\(base)/\(size)x\(size)/\(name)"))
            #expect(written == (try Data(contentsOf: URL(fileURLWithPath: fixture.packageDir + "/Assets/" + source))), "\(size)")
        }
        #expect(fixture.integration.icons["CCoffee"] == "\(base)/256x256/\(name)")
        #expect(Set(fixture.integration.icons.keys) == ["TE.ProcessHost", "CCoffee", "CCoffeeMug", "CCoffeeCup", "CCoffeeDDECup"])
    }

    @Test func mimeXMLDefinesOnlyInventedTypes() throws {
        let xml = try String(contentsOfFile: fixture.sharedDir + "/mime/packages/appattach-\(pfn).xml", encoding: .utf8)
        for ext in ["centcoffee", "centcoffeemug", "centcoffeecup", "centddecup"] {
            #expect(xml.contains("<mime-type type=\"application/x-appattach-\(ext)\">"))
            #expect(xml.contains("<glob pattern=\"*.\(ext)\" weight=\"5\"/>"))
        }
        #expect(xml.contains("<sub-class-of type=\"text/plain\"/>"))
        #expect(!xml.contains("*.txt"), ".txt is the system's text/plain")
        #expect(fixture.integration.mimeTypes[".txt"] == "text/plain")
    }

    /// shared-mime-info compiles the XML: the generated globs map our extension to our type.
    @Test(.enabled(if: TestEnvironment.hasTool("update-mime-database"), "needs update-mime-database (shared-mime-info)"))
    func updateMimeDatabaseAcceptsTheMimeXML() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let outcome = SharedDesktopData(directory: dir).publish([fixture.integration])
        #expect(outcome.problems.isEmpty && outcome.compiledMimeDatabase, "\(outcome)")
        let globs = try String(contentsOfFile: dir + "/mime/globs2", encoding: .utf8)
        #expect(globs.contains("5:application/x-appattach-centcoffee:*.centcoffee"))
    }

    @Test func recordRoundTripsAndPreparingTwiceWritesTheSame() throws {
        #expect(try PreparedIntegration.load(from: fixture.sharedDir) == fixture.integration)
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try PackageIntegration.prepare(packageDir: fixture.packageDir, into: dir)
        let first = try TreeDigest.ofDirectory(dir)
        _ = try PackageIntegration.prepare(packageDir: fixture.packageDir, into: dir)
        #expect(try TreeDigest.ofDirectory(dir) == first)
    }

    @Test func aSymlinkedLogoInThePackageIsNotFollowed() throws {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let package = dir + "/package"
        try FileManager.default.createDirectory(atPath: package + "/Assets", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixture.packageDir + "/AppxManifest.xml", toPath: package + "/AppxManifest.xml")
        try FileManager.default.createSymbolicLink(atPath: package + "/Assets/AppList.png", withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(atPath: package + "/Assets/Logo.png",
                                                   withDestinationPath: fixture.packageDir + "/Assets/Logo.png")
        let prepared = try PackageIntegration.prepare(packageDir: package, into: dir + "/shared")
        #expect(prepared.icons.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: dir + "/shared/icons"))
    }

    @Test func missingManifestIsAOneLineError() {
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect {
            try PackageIntegration.prepare(packageDir: dir, into: dir + "/shared")
        } throws: { error in
            "\(error)" == "cannot prepare \(dir): AppxManifest.xml is missing"
        }
    }
}
