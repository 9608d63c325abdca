import Foundation
import Health
import HostPool
import Testing
import TestSupport

@Suite("host-pool file")
struct HostPoolDefinitionTests {
    @Test("the shipped sample parses to what its comments say")
    func sampleParses() throws {
        let definition = try HostPoolDefinition.load(path: TestEnvironment.projectRoot + "/config/hostpool-example.toml")
        #expect(definition.packages.count == 3)
        let editor = definition.packages[0]
        #expect(editor.image == "images/Contoso.Editor_2.1.0.0.vhdx")
        #expect(editor.package.familyName == "Contoso.Editor_8wekyb3d8bbwe")
        #expect(editor.package.fullName == nil)
        #expect(editor.registration == .delayed)
        #expect(editor.state == .active)
        #expect(editor.health == .needsAssistance)
        #expect(editor.groups == ["vdi-users"])
        #expect(editor.users.isEmpty)
        let next = definition.packages[1]
        #expect(next.package.fullName == "Contoso.Editor_2.2.0.0_x64__8wekyb3d8bbwe")
        #expect(next.package.familyName == "Contoso.Editor_8wekyb3d8bbwe")
        #expect(next.state == .inactive)
        let accounts = definition.packages[2]
        #expect(accounts.registration == .regular)
        #expect(accounts.health == .unhealthy)
        #expect(accounts.users == ["alice", "bob"])
        #expect(accounts.groups == ["finance"])
        #expect(definition.activePackages.map(\.image) == ["images/Contoso.Editor_2.1.0.0.vhdx", "images/Fabrikam.Accounts.erofs"])
        // The header lines, which messages about an entry point at.
        let text = try String(contentsOfFile: TestEnvironment.projectRoot + "/config/hostpool-example.toml", encoding: .utf8)
        let headers = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .filter { $0.element == "[[package]]" }.map { $0.offset + 1 }
        #expect(definition.packages.map(\.line) == headers)
    }

    @Test("an empty file is a pool without packages")
    func emptyFile() throws {
        #expect(try HostPoolDefinition.parse("# nothing yet\n", displayName: "p.toml").packages.isEmpty)
    }

    @Test("load by share and pool names the file relative to the share")
    func loadFromShare() throws {
        let share = TestEnvironment.makeTemporaryDirectory("hostpool")
        defer { try? FileManager.default.removeItem(atPath: share) }
        try FileManager.default.createDirectory(atPath: share + "/hostpools", withIntermediateDirectories: true)
        try "[[package]]\nimage = \"images/a.vhdx\"\nname = \"Contoso.App_8wekyb3d8bbwe\"\nregistration = \"eager\"\n"
            .write(toFile: share + "/hostpools/pool1.toml", atomically: false, encoding: .utf8)
        #expect(throws: ConfigurationError(file: "hostpools/pool1.toml", line: 4,
                                           message: "registration must be \"delayed\" or \"regular\", not \"eager\"")) {
            try HostPoolDefinition.load(share: share, pool: "pool1")
        }
        #expect(throws: ConfigurationError(file: "hostpools/pool2.toml", line: nil, message: "cannot open: No such file or directory", unreadable: true)) {
            try HostPoolDefinition.load(share: share, pool: "pool2")
        }
        #expect(throws: ConfigurationError.self) { try HostPoolDefinition.load(share: share, pool: "../x") }
    }

    static let entry = "[[package]]\nimage = \"images/a.vhdx\"\nname = \"Contoso.App_8wekyb3d8bbwe\"\n"
    static let other = "[[package]]\nimage = \"images/b.vhdx\"\nname = \"Fabrikam.Tool_1.0.0.0_x64__8wekyb3d8bbwe\"\n"

    @Test("bad input gives one line naming the file and line", arguments: [
        (other + entry + "registration = \"eager\"\n",
         "hostpools/pool1.toml:7: registration must be \"delayed\" or \"regular\", not \"eager\""),
        (entry + "state = \"on\"\n",
         "hostpools/pool1.toml:4: state must be \"active\" or \"inactive\", not \"on\""),
        (entry + "health = \"unhealthy\"\n",
         "hostpools/pool1.toml:4: health must be \"Unhealthy\", \"NeedsAssistance\" or \"DoNotFail\", not \"unhealthy\""),
        ("[[package]]\nname = \"Contoso.App_8wekyb3d8bbwe\"\n",
         "hostpools/pool1.toml:1: image is missing"),
        (other + "\n\n[[package]]\nimage = \"images/a.vhdx\"\n",
         "hostpools/pool1.toml:6: name is missing"),
        ("[[package]]\nimage = \"/srv/images/a.vhdx\"\nname = \"Contoso.App_8wekyb3d8bbwe\"\n",
         "hostpools/pool1.toml:2: image must be a path relative to the share, not the absolute path \"/srv/images/a.vhdx\""),
        ("[[package]]\nimage = \"images/../../etc/shadow\"\nname = \"Contoso.App_8wekyb3d8bbwe\"\n",
         "hostpools/pool1.toml:2: image must be a plain path inside the share (no empty, \".\" or \"..\" parts), not \"images/../../etc/shadow\""),
        ("[[package]]\nimage = \"images/a.vhdx\"\nname = \"Contoso App\"\n",
         "hostpools/pool1.toml:3: name must be a PackageFamilyName (Name_PublisherId) or a PackageFullName (Name_Version_Arch_ResourceId_PublisherId), not \"Contoso App\""),
        ("[[package]]\nimage = \"images/a.vhdx\"\nname = \"Contoso.App_1.0_x64__8wekyb3d8bbwe\"\n",
         "hostpools/pool1.toml:3: name must be a PackageFamilyName (Name_PublisherId) or a PackageFullName (Name_Version_Arch_ResourceId_PublisherId), not \"Contoso.App_1.0_x64__8wekyb3d8bbwe\""),
        (entry + "users = \"alice\"\n",
         "hostpools/pool1.toml:4: users must be an array of strings, not a string"),
        (entry + "groups = [\n  \"vdi\",\n  42,\n]\n",
         "hostpools/pool1.toml:6: groups must hold only strings, not an integer"),
        (entry + "users = [\"alice\", \"\"]\n",
         "hostpools/pool1.toml:4: users must not hold an empty name"),
        (entry + "regisration = \"regular\"\n",
         "hostpools/pool1.toml:4: unknown key regisration (known keys: groups, health, image, name, registration, state, users)"),
        ("pool = \"x\"\n" + entry,
         "hostpools/pool1.toml:1: unknown key pool (known keys: package)"),
        ("[package]\nimage = \"images/a.vhdx\"\n",
         "hostpools/pool1.toml:1: package must be an array of tables ([[package]]), not a table"),
        (entry + entry,
         "hostpools/pool1.toml:6: Contoso.App_8wekyb3d8bbwe is already listed at line 1"),
        (entry + "[[package]]\nimage = \"images/a2.vhdx\"\nname = \"Contoso.App_2.0.0.0_x64__8wekyb3d8bbwe\"\n",
         "hostpools/pool1.toml:6: package family Contoso.App_8wekyb3d8bbwe is already active at line 1; only one version of a family can be active, mark the other \"inactive\""),
        (entry + "users = [\"alice\"\n",
         "hostpools/pool1.toml:4: Error while parsing array: encountered end-of-file"),
        (entry + "registration = delayed\n",
         "hostpools/pool1.toml:4: Error while parsing value: could not determine value type"),
    ])
    func badInput(text: String, expected: String) {
        do {
            _ = try HostPoolDefinition.parse(text, displayName: "hostpools/pool1.toml")
            Issue.record("expected an error for: \(text)")
        } catch {
            #expect(error.description == expected)
            #expect(!error.description.contains("\n"))
        }
    }

    @Test("an inactive older version beside the active one is allowed")
    func sideBySide() throws {
        let text = Self.entry + "state = \"inactive\"\n"
            + "[[package]]\nimage = \"images/a2.vhdx\"\nname = \"Contoso.App_2.0.0.0_x64__8wekyb3d8bbwe\"\n"
        let definition = try HostPoolDefinition.parse(text, displayName: "p.toml")
        #expect(definition.activePackages.map(\.image) == ["images/a2.vhdx"])
    }

    @Test("lines are found past multi-line strings, arrays and brackets inside strings")
    func linesPastTrickyValues() {
        let text = """
            # [[package]] in a comment is not a header
            [[package]]
            image = "images/[[package]].vhdx"
            name = "Contoso.App_8wekyb3d8bbwe"
            users = [
              "alice", # a comment with ] and "quotes"
              'bob',
            ]
            groups = ['''
            not a key = 1
            ''']
            "state" = "paused"
            """
        #expect(throws: ConfigurationError(file: "p.toml", line: 12, message: "state must be \"active\" or \"inactive\", not \"paused\"")) {
            try HostPoolDefinition.parse(text, displayName: "p.toml")
        }
    }

    @Test("a file that is not UTF-8 text is refused with its line")
    func notUTF8() {
        var bytes = Array((Self.entry + "users = [\"").utf8)
        bytes += [0xC3, 0x28]
        bytes += Array("\"]\n".utf8)
        let path = TestEnvironment.makeTemporaryDirectory("hostpool") + "/p.toml"
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        #expect(throws: ConfigurationError(file: "p.toml", line: 4, message: "is not valid UTF-8 text")) {
            try HostPoolDefinition.load(path: path, displayName: "p.toml")
        }
    }

    @Test("package references: family and full names, and what is refused", arguments: [
        ("Contoso.App_8wekyb3d8bbwe", "Contoso.App_8wekyb3d8bbwe", nil as String?),
        ("Contoso.App_1.2.3.4_neutral_en-us_8wekyb3d8bbwe", "Contoso.App_8wekyb3d8bbwe", "Contoso.App_1.2.3.4_neutral_en-us_8wekyb3d8bbwe"),
    ])
    func references(text: String, family: String, full: String?) throws {
        let reference = try #require(PackageReference(text))
        #expect(reference.familyName == family)
        #expect(reference.fullName == full)
    }

    @Test("malformed package names are refused", arguments: [
        "Contoso.App", "Co_8wekyb3d8bbwe", "Contoso.App_8wekyb3d8bbwi", "Contoso.App_1.0.0.0_sparc__8wekyb3d8bbwe",
        "Contoso.App_1.0.0.70000_x64__8wekyb3d8bbwe", "Contoso App_8wekyb3d8bbwe", "",
    ])
    func malformed(text: String) {
        #expect(PackageReference(text) == nil)
    }

    @Test("a family reference matches every version of the family; a full name only itself")
    func matching() throws {
        let family = try #require(PackageReference("Contoso.App_8wekyb3d8bbwe"))
        #expect(family.matches(fullName: "Contoso.App_1.0.0.0_x64__8wekyb3d8bbwe"))
        #expect(!family.matches(fullName: "Contoso.Other_1.0.0.0_x64__8wekyb3d8bbwe"))
        let full = try #require(PackageReference("Contoso.App_1.0.0.0_x64__8wekyb3d8bbwe"))
        #expect(full.matches(fullName: "Contoso.App_1.0.0.0_x64__8wekyb3d8bbwe"))
        #expect(!full.matches(fullName: "Contoso.App_1.0.0.1_x64__8wekyb3d8bbwe"))
    }
}
