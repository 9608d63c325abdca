import Foundation
import Testing
@testable import MSIX

/// The manifest schema's rules, attacked with the values a hostile packager would write: each
/// one refused with one line that names the element and the rule, never a line break.
@Suite("manifest schema rules")
struct ManifestRulesTests {
    /// A manifest with one application; each argument replaces its part, as written in XML
    /// (so `&#10;` is a line break once parsed).
    static func manifest(identity: String = #"Name="Contoso.App" Publisher="CN=Contoso, O=Contoso Corporation, C=US" Version="1.2.3.4""#,
                         displayName: String = "Contoso App", applicationID: String = "App",
                         executable: String = #"VFS\ProgramFilesX64\App\app.exe"#,
                         visual: String = #"DisplayName="Contoso" Description="d" Square150x150Logo="a.png" Square44x44Logo="b.png""#,
                         extensions: String = "", applications: String? = nil) -> [UInt8] {
        let apps = applications ?? """
            <Application Id="\(applicationID)" Executable="\(executable)" EntryPoint="Windows.FullTrustApplication">
              <uap:VisualElements \(visual)/>
              <Extensions>\(extensions)</Extensions>
            </Application>
            """
        return Array("""
            <?xml version="1.0" encoding="utf-8"?>
            <Package xmlns="http://schemas.microsoft.com/appx/manifest/foundation/windows10"
                     xmlns:uap="http://schemas.microsoft.com/appx/manifest/uap/windows10"
                     xmlns:uap3="http://schemas.microsoft.com/appx/manifest/uap/windows10/3"
                     xmlns:desktop="http://schemas.microsoft.com/appx/manifest/desktop/windows10">
              <Identity \(identity)/>
              <Properties><DisplayName>\(displayName)</DisplayName><PublisherDisplayName>Contoso</PublisherDisplayName><Logo>Assets\\logo.png</Logo></Properties>
              <Dependencies><TargetDeviceFamily Name="Windows.Desktop" MinVersion="10.0.17763.0" MaxVersionTested="10.0.19041.0"/></Dependencies>
              <Applications>\(apps)</Applications>
            </Package>
            """.utf8)
    }

    /// Parses `bytes` expecting a refusal; returns its message after checking it is one line
    /// that names `element`.
    @discardableResult
    static func refused(_ bytes: [UInt8], naming element: String, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        do {
            let manifest = try AppxManifest.parse(bytes)
            Issue.record("accepted: \(manifest.applications.map(\.id))", sourceLocation: sourceLocation)
            return ""
        } catch {
            #expect(error.kind == .invalidManifest || error.kind == .invalidIdentity, sourceLocation: sourceLocation)
            #expect(error.message.contains(element), "\(error.message)", sourceLocation: sourceLocation)
            #expect(!error.message.contains("\n") && !error.message.contains("\r"), "one line: \(error.message)", sourceLocation: sourceLocation)
            return error.message
        }
    }

    @Test("a manifest that keeps the rules is read")
    func valid() throws {
        let manifest = try AppxManifest.parse(Self.manifest(extensions: """
            <uap:Extension Category="windows.fileTypeAssociation"><uap:FileTypeAssociation Name="reports">
              <uap:SupportedFileTypes><uap:FileType ContentType="application/vnd.contoso+xml">.report</uap:FileType><uap:FileType>.tar.gz</uap:FileType></uap:SupportedFileTypes>
            </uap:FileTypeAssociation></uap:Extension>
            <uap:Extension Category="windows.protocol"><uap:Protocol Name="contoso-app+x.1"/></uap:Extension>
            <uap3:Extension Category="windows.appExecutionAlias"><uap3:AppExecutionAlias><desktop:ExecutionAlias Alias="contoso.exe"/></uap3:AppExecutionAlias></uap3:Extension>
            <desktop:Extension Category="windows.startupTask" Executable="bin/agent"><desktop:StartupTask TaskId="Contoso.Startup-1" Enabled="true" DisplayName="Contoso"/></desktop:Extension>
            """))
        #expect(manifest.applications.first?.extensions.protocols.first?.name == "contoso-app+x.1")
        #expect(manifest.identity.publisher == "CN=Contoso, O=Contoso Corporation, C=US")
    }

    @Test("application ids: a newline (desktop entry injection), ; % and other punctuation, a leading digit, empty parts, too long, reserved, twice",
          arguments: ["A&#10;Exec=/usr/bin/touch /tmp/pwned", "A;B", "A%B", "A B", "1App", "App.", "A..B", ".App", "",
                      String(repeating: "A", count: 65), "CON", "App-1", "App_1", "Äpp"])
    func applicationIDs(_ id: String) {
        let message = Self.refused(Self.manifest(applicationID: id), naming: "<Application")
        if id.hasPrefix("A&#10;") {
            #expect(message.contains(#"Id "A\nExec=/usr/bin/touch /tmp/pwned""#), "the value shown escaped: \(message)")
        }
    }

    @Test("application ids the schema allows", arguments: ["App", "A", "Contoso.App2", "a.b.c", String(repeating: "A", count: 64)])
    func goodApplicationIDs(_ id: String) throws {
        #expect(try AppxManifest.parse(Self.manifest(applicationID: id)).applications.first?.id == id)
    }

    @Test("two applications with the same id (compared without case)")
    func duplicateIDs() {
        let app = { (id: String) in "<Application Id=\"\(id)\" Executable=\"bin/app\"><uap:VisualElements DisplayName=\"x\"/></Application>" }
        Self.refused(Self.manifest(applications: app("App") + app("APP")), naming: "is used by another <Application>")
    }

    @Test("executables outside the package: .., absolute, a drive, a control character, empty segments",
          arguments: ["../../../../bin/sh", #"..\..\cmd.exe"#, "bin/../../etc/passwd", "/bin/sh", #"\Windows\app.exe"#,
                      #"C:\Windows\System32\cmd.exe"#, "bin&#10;/app", "bin&#9;app", "bin//app", "bin/", "./app", "app*"])
    func executables(_ path: String) {
        Self.refused(Self.manifest(executable: path), naming: "Executable")
    }

    @Test("display names and descriptions with control characters", arguments: [
        (#"DisplayName="Line&#10;Exec=evil""#, "DisplayName"), (#"DisplayName="Next line&#x85;""#, "DisplayName"),
        (#"DisplayName="ok" Description="a&#13;b""#, "Description"), (#"DisplayName="x" Square44x44Logo="../../etc/shadow""#, "Square44x44Logo"),
    ])
    func visualElements(_ visual: String, _ element: String) {
        Self.refused(Self.manifest(visual: visual), naming: element)
    }

    @Test("the package's display name with a line break")
    func packageDisplayName() {
        Self.refused(Self.manifest(displayName: "Contoso&#10;[Desktop Entry]"), naming: "<Properties><DisplayName>")
    }

    @Test("publishers that are not distinguished names", arguments: [
        "Contoso", "CN=", "CN=A;B", "CN=A,O=B", "CN=A, ", "XX=A", "CN=A&#10;O=B", "CN=\"unterminated", "OID.2=x", "OID.01.2=x",
    ])
    func publishers(_ publisher: String) {
        Self.refused(Self.manifest(identity: "Name=\"Contoso.App\" Publisher=\"\(publisher.replacingOccurrences(of: "\"", with: "&quot;"))\" Version=\"1.0.0.0\""),
                     naming: "Publisher")
    }

    @Test("publishers the schema allows", arguments: [
        "CN=Contoso", "CN=Contoso Software, O=Contoso Corporation, L=Redmond, S=Washington, C=US", "CN=\"Contoso, Inc.\"",
        "OID.2.5.4.3=Contoso", "CN=Contoso, SERIALNUMBER=1234, dnQualifier=x",
    ])
    func goodPublishers(_ publisher: String) throws {
        let manifest = try AppxManifest.parse(Self.manifest(identity: "Name=\"Contoso.App\" Publisher=\"\(publisher.replacingOccurrences(of: "\"", with: "&quot;"))\" Version=\"1.0.0.0\""))
        #expect(manifest.identity.publisher == publisher)
    }

    @Test("identity names: reserved device names, bad characters", arguments: ["CON", "aux.Tools", "Lpt1", "Con&#10;tso", "Con tso", "Con/tso"])
    func identityNames(_ name: String) {
        Self.refused(Self.manifest(identity: "Name=\"\(name)\" Publisher=\"CN=Contoso\" Version=\"1.0.0.0\""), naming: "Identity Name")
    }

    @Test("extensions: protocols, file types, content types, aliases, startup tasks, verbs", arguments: [
        (#"<uap:Extension Category="windows.protocol"><uap:Protocol Name="Contoso"/></uap:Extension>"#, "<Protocol Name="),
        (#"<uap:Extension Category="windows.protocol"><uap:Protocol Name="x"/></uap:Extension>"#, "<Protocol Name="),
        (#"<uap:Extension Category="windows.protocol"><uap:Protocol Name="a&#10;b"/></uap:Extension>"#, "<Protocol Name="),
        (#"<uap:Extension Category="windows.protocol"><uap:Protocol Name="web+x;y"/></uap:Extension>"#, "<Protocol Name="),
        (ftype("txt"), "<FileType>"), (ftype("."), "<FileType>"), (ftype(".a/b"), "<FileType>"), (ftype(". x"), "<FileType>"),
        (ftype(".x&#10;y"), "<FileType>"), (ftype("..."), "<FileType>"),
        (ftype(".txt", contentType: "text/plain&#10;x=y"), "ContentType"), (ftype(".txt", contentType: "text"), "ContentType"),
        (ftype(".txt", contentType: "text/pl ain"), "ContentType"), (ftype(".txt", contentType: "a/b/c"), "ContentType"),
        (alias("../tool.exe"), "<ExecutionAlias Alias="), (alias("bin/tool"), "<ExecutionAlias Alias="),
        (alias(".hidden"), "<ExecutionAlias Alias="), (alias("to ol"), "<ExecutionAlias Alias="), (alias("a&#10;b"), "<ExecutionAlias Alias="),
        (#"<desktop:Extension Category="windows.startupTask" Executable="bin/x"><desktop:StartupTask TaskId="T&#10;1" Enabled="true"/></desktop:Extension>"#, "TaskId"),
        (#"<desktop:Extension Category="windows.startupTask" Executable="../x"><desktop:StartupTask TaskId="T1" Enabled="true"/></desktop:Extension>"#, "Executable"),
        (#"<uap:Extension Category="windows.fileTypeAssociation"><uap:FileTypeAssociation Name="a/b"><uap:SupportedFileTypes><uap:FileType>.x</uap:FileType></uap:SupportedFileTypes></uap:FileTypeAssociation></uap:Extension>"#, "<FileTypeAssociation Name="),
        (#"<uap:Extension Category="windows.fileTypeAssociation"><uap:FileTypeAssociation Name="ok"><uap:SupportedFileTypes><uap:FileType>.x</uap:FileType></uap:SupportedFileTypes><uap2:SupportedVerbs xmlns:uap2="http://schemas.microsoft.com/appx/manifest/uap/windows10/2"><uap3:Verb Id="open;rm" >Open</uap3:Verb></uap2:SupportedVerbs></uap:FileTypeAssociation></uap:Extension>"#, "<Verb Id="),
    ])
    func extensions(_ xml: String, _ element: String) {
        Self.refused(Self.manifest(extensions: xml), naming: element)
    }

    static func ftype(_ type: String, contentType: String? = nil) -> String {
        let content = contentType.map { " ContentType=\"\($0)\"" } ?? ""
        return "<uap:Extension Category=\"windows.fileTypeAssociation\"><uap:FileTypeAssociation Name=\"docs\"><uap:SupportedFileTypes><uap:FileType\(content)>\(type)</uap:FileType></uap:SupportedFileTypes></uap:FileTypeAssociation></uap:Extension>"
    }

    static func alias(_ name: String) -> String {
        "<uap3:Extension Category=\"windows.appExecutionAlias\"><uap3:AppExecutionAlias><desktop:ExecutionAlias Alias=\"\(name)\"/></uap3:AppExecutionAlias></uap3:Extension>"
    }

    @Test("10,000 applications: refused by count, without registering any")
    func tenThousandApplications() {
        let apps = (0..<10_000).map { "<Application Id=\"App\($0)\" Executable=\"bin/app\"><uap:VisualElements DisplayName=\"x\"/></Application>" }.joined()
        let started = ContinuousClock.now
        let message = Self.refused(Self.manifest(applications: apps), naming: "10000 <Application> elements")
        #expect(message.contains("at most 100"))
        print("10,000 applications refused in \(ContinuousClock.now - started)")
    }

    @Test("the values in messages: control characters escaped, long values cut")
    func shownValues() {
        #expect(ManifestText.shown("a\nb\u{1B}c\"") == #""a\nb\u{1B}c\"""#)
        #expect(ManifestText.shown(String(repeating: "x", count: 100)).count == 83)
    }
}
