import Foundation
import Registration
import Testing
import TestSupport

/// The staged packages' icons and file types in the shared desktop data directory, read back
/// by GIO (`gio info`, the reader GNOME and most GTK file managers use), not by our own code.
@Suite struct SharedDesktopDataTests {
    let fixture = CoffeeFixture.shared
    let pfn = CoffeeFixture.familyName

    /// The content type GIO gives `file`, with `share` last on `XDG_DATA_DIRS` as the
    /// environment files put it, and a home of its own (nothing of the host user's).
    static func contentType(_ file: String, share: String) throws -> String {
        let scratch = TestEnvironment.makeTemporaryDirectory("gio")
        defer { TestEnvironment.removeTemporaryDirectory(scratch) }
        let result = try TestEnvironment.run(["env", "-i", "HOME=\(scratch)", "XDG_DATA_HOME=\(scratch)/data", "XDG_CONFIG_HOME=\(scratch)/config",
                                              "XDG_DATA_DIRS=/usr/local/share:/usr/share:\(share)",
                                              "gio", "info", "-a", "standard::content-type", file])
        return result.output.split(separator: "\n").first { $0.contains("standard::content-type:") }
            .map { String($0.split(separator: ":").last ?? "").trimmingCharacters(in: .whitespaces) } ?? result.output
    }

    @Test("publish: the package's icons in the hicolor layout and its file types compiled; GIO then knows .centcoffee, and .txt stays text/plain",
          .enabled(if: TestEnvironment.hasTool("update-mime-database") && TestEnvironment.hasTool("gio"),
                   "needs update-mime-database (shared-mime-info) and gio (libglib2.0-bin)"))
    func publishedTypesAreSeenByGIO() throws {
        let dir = TestEnvironment.makeTemporaryDirectory("share")
        defer { TestEnvironment.removeTemporaryDirectory(dir) }
        let share = SharedDesktopData(directory: dir + "/share")
        let files = dir + "/files"
        try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
        for name in ["report.centcoffee", "notes.txt"] { try Data("coffee\n".utf8).write(to: URL(fileURLWithPath: files + "/" + name)) }
        #expect(try Self.contentType(files + "/report.centcoffee", share: share.directory) != "application/x-appattach-centcoffee")

        let outcome = share.publish([fixture.integration])
        #expect(outcome.problems.isEmpty, "\(outcome.problems)")
        #expect(outcome.compiledMimeDatabase)
        #expect(outcome.written.contains("mime/packages/appattach-\(pfn).xml"))
        #expect(outcome.written.contains("icons/hicolor/256x256/apps/appattach-\(pfn)-CCoffee.png"))
        #expect(FileManager.default.fileExists(atPath: share.directory + "/mime/mime.cache"))
        #expect(try Self.contentType(files + "/report.centcoffee", share: share.directory) == "application/x-appattach-centcoffee")
        #expect(try Self.contentType(files + "/notes.txt", share: share.directory) == "text/plain")
        #expect(fixture.integration.iconName("CCoffee") == "appattach-\(pfn)-CCoffee")

        // The same again: nothing written, nothing compiled.
        let again = share.publish([fixture.integration])
        #expect(!again.changed && again.problems.isEmpty, "\(again)")
    }

    @Test("publish of fewer packages removes exactly their files and compiles again; files not ours are left",
          .enabled(if: TestEnvironment.hasTool("update-mime-database") && TestEnvironment.hasTool("gio"),
                   "needs update-mime-database (shared-mime-info) and gio (libglib2.0-bin)"))
    func destagedPackageLeavesNothing() throws {
        let dir = TestEnvironment.makeTemporaryDirectory("share")
        defer { TestEnvironment.removeTemporaryDirectory(dir) }
        let share = SharedDesktopData(directory: dir + "/share")
        _ = share.publish([fixture.integration])
        let foreign = ["icons/hicolor/48x48/apps/someone-else.png", "mime/packages/someone-else.xml"]
        for path in foreign { try Data("not ours".utf8).write(to: URL(fileURLWithPath: share.directory + "/" + path)) }
        let before = Set(try FileManager.default.subpathsOfDirectory(atPath: share.directory))

        let outcome = share.publish([])
        #expect(outcome.problems.isEmpty, "\(outcome.problems)")
        #expect(outcome.compiledMimeDatabase)
        #expect(outcome.written.isEmpty)
        let after = Set(try FileManager.default.subpathsOfDirectory(atPath: share.directory))
        let gone = before.subtracting(after).filter { !$0.hasPrefix("mime/") || $0.hasPrefix("mime/packages/") }
        #expect(Set(outcome.removed) == gone, "removed what it says, and only that")
        #expect(outcome.removed.allSatisfy { $0.split(separator: "/").last!.hasPrefix("appattach-\(pfn)-") || $0.hasSuffix("appattach-\(pfn).xml") })
        #expect(!after.contains { $0.contains("appattach-") })
        for path in foreign { #expect(FileManager.default.fileExists(atPath: share.directory + "/" + path), "\(path)") }
        let file = dir + "/report.centcoffee"
        try Data("coffee\n".utf8).write(to: URL(fileURLWithPath: file))
        #expect(try Self.contentType(file, share: share.directory) != "application/x-appattach-centcoffee")
    }

    @Test("file types: the host's type where it knows the extension, the package's own declared type where the host does not have it, else an invented type under the declared one")
    func typeChoice() throws {
        let dir = TestEnvironment.makeTemporaryDirectory("types")
        defer { TestEnvironment.removeTemporaryDirectory(dir) }
        let package = dir + "/package"
        try FileManager.default.createDirectory(atPath: package, withIntermediateDirectories: true)
        let types = [(".csv", "text/plain"), (".sketchdoc", "application/vnd.contoso.sketch"), (".zznote", "text/plain"), (".bare", nil)]
        let fileTypes = types.map { ext, type in
            "<uap:FileTypeAssociation Name=\"t\(ext.dropFirst())\"><uap:SupportedFileTypes><uap:FileType\(type.map { " ContentType=\"\($0)\"" } ?? "")>\(ext)</uap:FileType></uap:SupportedFileTypes></uap:FileTypeAssociation>"
        }
        let manifest = """
            <?xml version="1.0" encoding="utf-8"?>
            <Package xmlns="http://schemas.microsoft.com/appx/manifest/foundation/windows10" xmlns:uap="http://schemas.microsoft.com/appx/manifest/uap/windows10" IgnorableNamespaces="uap">
              <Identity Name="Contoso.Sketch" Publisher="CN=Contoso" Version="1.0.0.0" ProcessorArchitecture="neutral" />
              <Properties><DisplayName>Sketch</DisplayName><PublisherDisplayName>Contoso</PublisherDisplayName><Logo>logo.png</Logo></Properties>
              <Resources><Resource Language="en-us" /></Resources>
              <Applications><Application Id="Sketch" Executable="sketch" EntryPoint="Linux.Executable">
                <uap:VisualElements DisplayName="Sketch" Description="Sketch" Square150x150Logo="logo.png" Square44x44Logo="logo.png" BackgroundColor="transparent" />
                <Extensions>\(fileTypes.map { "<uap:Extension Category=\"windows.fileTypeAssociation\">\($0)</uap:Extension>" }.joined())</Extensions>
              </Application></Applications>
            </Package>
            """
        try Data(manifest.utf8).write(to: URL(fileURLWithPath: package + "/AppxManifest.xml"))
        let host = MimeTypeMap(globs2: "50:text/csv:*.csv\n50:text/plain:*.txt\n", types: "text/csv\ntext/plain\napplication/pdf\n")
        let prepared = try PackageIntegration.prepare(packageDir: package, into: dir + "/shared", mimeTypes: host)
        #expect(prepared.mimeTypes[".csv"] == "text/csv", "the host's type is never shadowed")
        #expect(prepared.mimeTypes[".sketchdoc"] == "application/vnd.contoso.sketch")
        #expect(prepared.mimeTypes[".zznote"] == "application/x-appattach-zznote")
        #expect(prepared.mimeTypes[".bare"] == "application/x-appattach-bare")
        let xml = try String(contentsOfFile: dir + "/shared/mime/packages/appattach-\(prepared.packageFamilyName).xml", encoding: .utf8)
        #expect(!xml.contains("*.csv") && !xml.contains("\"text/csv\""))
        #expect(xml.contains("<mime-type type=\"application/vnd.contoso.sketch\">"))
        #expect(xml.contains("<glob pattern=\"*.sketchdoc\" weight=\"5\"/>"))
        #expect(xml.contains("<mime-type type=\"application/x-appattach-zznote\">\n    <comment>") && xml.contains("<sub-class-of type=\"text/plain\"/>"))
    }
}
