import Foundation
import MSIX
import Testing
import TestSupport
import ZipArchive

@Suite struct PackTests {
    /// A small Linux app: an ELF-like program, a launcher, an icon, text and random data, and
    /// names that need percent-encoding.
    static func makeApp(in work: String) throws -> String {
        let app = work + "/app"
        try FileManager.default.createDirectory(atPath: app + "/bin", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: app + "/share/docs and notes", withIntermediateDirectories: true)
        try Data([0x7F, 0x45, 0x4C, 0x46] + Array(repeating: 1, count: 70_000)).write(to: URL(fileURLWithPath: app + "/bin/viewer"))
        chmod(app + "/bin/viewer", 0o755)
        let desktop = "[Desktop Entry]\nType=Application\nName=Photo Viewer\nName[de]=Bildbetrachter\nComment=Views photos\nExec=bin/viewer %F\nIcon=viewer\nMimeType=image/x-test-photo;\nCategories=Graphics;Viewer;\n"
        try Data(desktop.utf8).write(to: URL(fileURLWithPath: app + "/viewer.desktop"))
        try Data([0x89, 0x50, 0x4E, 0x47] + Array(repeating: 3, count: 500)).write(to: URL(fileURLWithPath: app + "/share/viewer.png"))
        try Data(String(repeating: "notes notes notes\n", count: 20_000).utf8).write(to: URL(fileURLWithPath: app + "/share/docs and notes/C++ [1].txt"))
        var generator = SystemRandomNumberGenerator()
        let random = (0..<200_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try Data(random).write(to: URL(fileURLWithPath: app + "/share/random.bin"))
        try Data().write(to: URL(fileURLWithPath: app + "/share/empty"))
        return app
    }

    static let globs = MimeGlobs(globs2: "50:image/x-test-photo:*.tphoto\n50:image/x-test-photo:*.tph\n")

    @Test(.enabled(if: TestEnvironment.hasTool("unzip"), "needs unzip"))
    func packVerifyInspectRoundTrip() throws {
        let work = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let app = try Self.makeApp(in: work)
        let output = work + "/viewer.msix"
        let options = PackOptions(name: "Example.PhotoViewer", publisher: "CN=Example Corp, O=Example", version: "2.1.0.7", mimeGlobs: Self.globs)
        let result = try PackagePacker.pack(directory: app, output: output, options: options)
        #expect(result.files == 6)

        let package = try MSIXPackage.open(output)
        let report = try package.verify()
        #expect(report.fileCount == 7)
        #expect(!report.signaturePresent)
        #expect(try TestEnvironment.run(["unzip", "-t", output]).status == 0)

        let inspected = PackageReport(package: package)
        #expect(inspected.fullName == "Example.PhotoViewer_2.1.0.7_neutral__\(PublisherId.of("CN=Example Corp, O=Example"))")
        #expect(inspected.displayName == "Photo Viewer")
        #expect(inspected.publisherDisplayName == "Example Corp")
        #expect(inspected.description == "Views photos")
        #expect(inspected.logo == "share\\viewer.png")
        #expect(inspected.targetDeviceFamilies.map(\.name) == ["Linux.All"])
        let application = try #require(inspected.applications.first)
        #expect(application.appUserModelId == inspected.familyName + "!App")
        #expect(application.application.executable == "bin\\viewer")
        #expect(application.application.square44x44Logo == "share\\viewer.png")
        #expect(application.application.desktopCategories == ["Graphics", "Viewer"])
        let types = application.application.extensions.fileTypeAssociations.flatMap(\.fileTypes)
        #expect(types.map(\.fileExtension) == [".tphoto", ".tph"])
        #expect(types.map(\.contentType) == ["image/x-test-photo", "image/x-test-photo"])
        #expect(inspected.text.contains("Application: \(inspected.familyName)!App"))
        let json = String(decoding: try JSONEncoder().encode(inspected), as: UTF8.self)
        #expect(json.contains("\"fullName\""))

        // Content and modes survive; names were percent-encoded in the ZIP and decoded on the way out.
        _ = try package.unpack(into: work + "/out")
        let original = try Fixture.tree(app), unpacked = try Fixture.tree(work + "/out")
        for (path, (data, mode)) in original {
            #expect(unpacked[path]?.0 == data, "\(path)")
            #expect(unpacked[path]?.1 == (mode & 0o111 != 0 ? 0o755 : 0o644), "\(path)")
        }
        #expect(package.parts.contains { $0.entry.name == "share/docs%20and%20notes/C%2B%2B%20%5B1%5D.txt" })
        // Incompressible data is stored, text is deflated.
        #expect(package.part("share/random.bin")?.entry.method == .stored)
        #expect(package.part("share/docs and notes/C++ [1].txt")?.entry.method == .deflated)
    }

    @Test func givenManifestIsUsedAsIs() throws {
        let work = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let app = try Self.makeApp(in: work)
        let source = try MSIXPackage.open(Fixture.path("TestLinux.msix"))
        let manifestPath = work + "/AppxManifest.xml"
        try Data(try source.zip.contents(of: source.part("AppxManifest.xml")!.entry)).write(to: URL(fileURLWithPath: manifestPath))
        try PackagePacker.pack(directory: app, output: work + "/given.msix", options: PackOptions(manifestPath: manifestPath))
        let package = try MSIXPackage.open(work + "/given.msix")
        #expect(package.manifest == source.manifest)
        _ = try package.verify()
    }

    /// A code integrity catalog without the signature that covers it (the MSIX SDK's
    /// `UnsignedZip64WithCI-APPX_E_MISSING_REQUIRED_FILE`): refused at open; and `pack` never
    /// copies a catalog from the directory into a package.
    @Test func catalogWithoutSignature() throws {
        let work = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let app = try Self.makeApp(in: work)
        try FileManager.default.createDirectory(atPath: app + "/AppxMetadata", withIntermediateDirectories: true)
        try "catalog".write(toFile: app + "/AppxMetadata/CodeIntegrity.cat", atomically: true, encoding: .utf8)
        let source = try MSIXPackage.open(Fixture.path("TestLinux.msix"))
        let manifestPath = work + "/AppxManifest.xml"
        try Data(try source.zip.contents(of: source.part("AppxManifest.xml")!.entry)).write(to: URL(fileURLWithPath: manifestPath))
        try PackagePacker.pack(directory: app, output: work + "/packed.msix", options: PackOptions(manifestPath: manifestPath))
        let packed = try MSIXPackage.open(work + "/packed.msix")
        #expect(packed.part(MSIXPackage.codeIntegrityName) == nil)

        // The same parts with the catalog added by hand.
        let writer = try ZipWriter(path: work + "/catalog.msix")
        for part in packed.parts { try writer.add(name: part.entry.name, bytes: try packed.zip.contents(of: part.entry)) }
        try writer.add(name: MSIXPackage.codeIntegrityName, bytes: Array("catalog".utf8))
        try writer.finish()
        #expect {
            _ = try MSIXPackage.open(work + "/catalog.msix")
        } throws: { error in
            guard let error = error as? MSIXError else { return false }
            return error.kind == .missingFootprint && error.message.contains("CodeIntegrity.cat but no AppxSignature.p7x")
        }
    }

    @Test func packingRefusesBadInputAndLeavesNoOutput() throws {
        let work = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let app = try Self.makeApp(in: work)
        let output = work + "/bad.msix"
        #expect(throws: MSIXError.self) {
            try PackagePacker.pack(directory: app, output: output, options: PackOptions(name: "x", publisher: "CN=x", version: "1.0.0.0"))
        }
        #expect(throws: MSIXError.self) {
            try PackagePacker.pack(directory: app, output: output,
                                   options: PackOptions(name: "Valid.Name", publisher: "CN=x", version: "1.0.0.0", executable: "missing"))
        }
        try FileManager.default.createSymbolicLink(atPath: app + "/link", withDestinationPath: "/etc/passwd")
        #expect(throws: MSIXError.self) {
            try PackagePacker.pack(directory: app, output: output, options: PackOptions(name: "Valid.Name", publisher: "CN=x", version: "1.0.0.0"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: work).sorted() == ["app"])
    }
}
