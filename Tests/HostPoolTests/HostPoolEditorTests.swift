import Health
import HostPool
import Testing

@Suite("the admin's verbs on a host-pool file: add, publish, unpublish, activate, remove")
struct HostPoolEditorTests {
    static let original = """
        # East pool: editors for finance.

        # The editor, version 1 (kept to switch back).
        [[package]]
        image = "images/editor-1.vhdx"
        name = "Contoso.Editor_1.0.0.0_x64__8wekyb3d8bbwe"   # the exact version
        state = "active"
        users = [
          "alice",  # lead
          "bob",
        ]

        # Notes for everyone in finance.
        [[package]]
        image = "images/notes.vhdx"
        name = "Contoso.Notes_8wekyb3d8bbwe"
        groups = ["finance"]

        """

    static func editor() throws -> HostPoolEditor { try HostPoolEditor(text: original, displayName: "hostpools/east.toml") }

    @Test("add appends an entry after the others; comments and layout stay as they were")
    func add() throws {
        var editor = try Self.editor()
        try editor.add(PackageEntry(image: "images/editor-2.vhdx", package: PackageReference("Contoso.Editor_2.0.0.0_x64__8wekyb3d8bbwe")!,
                                    registration: .regular, state: .inactive, health: .unhealthy, users: ["carol \"c\""]))
        #expect(editor.text == Self.original + """

            [[package]]
            image = "images/editor-2.vhdx"
            name = "Contoso.Editor_2.0.0.0_x64__8wekyb3d8bbwe"
            registration = "regular"
            state = "inactive"
            health = "Unhealthy"
            users = ["carol \\"c\\""]

            """)
        #expect(editor.definition.packages.count == 3)
        #expect(editor.definition.packages.last?.users == ["carol \"c\""])
    }

    @Test("what the hosts would refuse is refused, and the text stays: a second active version, the same entry twice")
    func refusedEdits() throws {
        var editor = try Self.editor()
        #expect(throws: ConfigurationError.self) {
            try editor.add(PackageEntry(image: "images/editor-2.vhdx", package: PackageReference("Contoso.Editor_2.0.0.0_x64__8wekyb3d8bbwe")!))
        }
        #expect(throws: HostPoolEditor.EditError.self) {
            try editor.add(PackageEntry(image: "images/notes.vhdx", package: PackageReference("Contoso.Notes_8wekyb3d8bbwe")!))
        }
        #expect(throws: HostPoolEditor.EditError.self) { try editor.publish("Contoso.Missing_8wekyb3d8bbwe", users: ["x"], groups: []) }
        #expect(editor.text == Self.original)
    }

    @Test("publish and unpublish rewrite only the lists they change, a list over several lines too")
    func publish() throws {
        var editor = try Self.editor()
        #expect(try editor.publish("Contoso.Editor_8wekyb3d8bbwe", users: ["bob", "dave"], groups: ["editors"]) == 1)
        #expect(editor.definition.packages[0].users == ["alice", "bob", "dave"])
        #expect(editor.definition.packages[0].groups == ["editors"])
        #expect(editor.text.contains("""
            name = "Contoso.Editor_1.0.0.0_x64__8wekyb3d8bbwe"   # the exact version
            state = "active"
            users = ["alice", "bob", "dave"]
            groups = ["editors"]

            # Notes for everyone in finance.
            """), "\(editor.text)")
        #expect(try editor.unpublish("Contoso.Notes_8wekyb3d8bbwe", users: [], groups: ["finance"]) == 1)
        #expect(editor.definition.packages[1].groups.isEmpty)
        #expect(editor.text.contains("groups = []\n"))
        #expect(try editor.publish("Contoso.Notes_8wekyb3d8bbwe", users: [], groups: []) == 0, "nothing to change")
    }

    @Test("activate makes the named version active and the family's other versions inactive, in one change")
    func activate() throws {
        var editor = try Self.editor()
        try editor.add(PackageEntry(image: "images/editor-2.vhdx", package: PackageReference("Contoso.Editor_2.0.0.0_x64__8wekyb3d8bbwe")!,
                                    state: .inactive, users: ["alice"]))
        try editor.activate("Contoso.Editor_2.0.0.0_x64__8wekyb3d8bbwe")
        #expect(editor.definition.packages.map(\.state) == [.inactive, .active, .active])
        #expect(editor.text.contains("name = \"Contoso.Editor_1.0.0.0_x64__8wekyb3d8bbwe\"   # the exact version\nstate = \"inactive\"\nusers = ["))
        try editor.activate("Contoso.Editor_1.0.0.0_x64__8wekyb3d8bbwe")
        #expect(editor.definition.packages.map(\.state) == [.active, .active, .inactive])
        #expect(throws: HostPoolEditor.EditError.self) { try editor.activate("Contoso.Editor_3.0.0.0_x64__8wekyb3d8bbwe") }
        #expect(throws: HostPoolEditor.EditError.self) { try editor.activate("Contoso.Editor_8wekyb3d8bbwe") }
    }

    @Test("remove takes the entry with its own comment, and leaves one blank line between the others")
    func remove() throws {
        var editor = try Self.editor()
        #expect(try editor.remove("Contoso.Editor_1.0.0.0_x64__8wekyb3d8bbwe") == 1)
        #expect(editor.text == """
            # East pool: editors for finance.

            # Notes for everyone in finance.
            [[package]]
            image = "images/notes.vhdx"
            name = "Contoso.Notes_8wekyb3d8bbwe"
            groups = ["finance"]

            """)
        #expect(try editor.remove("Contoso.Notes_8wekyb3d8bbwe", image: "images/notes.vhdx") == 1)
        #expect(editor.text == "# East pool: editors for finance.\n")
        #expect(editor.definition.packages.isEmpty)
    }

    @Test("names with quotes, backslashes and control characters are written as TOML reads them back")
    func hostileNames() throws {
        var editor = try Self.editor()
        let names = ["a\"b", "back\\slash", "new\nline", "tab\there", "del\u{7F}"]
        try editor.publish("Contoso.Notes_8wekyb3d8bbwe", users: names, groups: [])
        #expect(editor.definition.packages[1].users == names)
        #expect(try HostPoolDefinition.parse(editor.text, displayName: "x").packages[1].users == names)
    }
}
