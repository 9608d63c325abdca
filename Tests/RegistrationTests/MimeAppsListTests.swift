import Registration
import Testing

@Suite struct MimeAppsListTests {
    static let ours = "appattach-Coffee_8wekyb3d8bbwe-App.desktop"
    static let associations = [
        MimeAssociation(mimeType: "application/x-appattach-cc", desktopID: ours, isDefault: true),
        MimeAssociation(mimeType: "text/plain", desktopID: ours, isDefault: false),
        MimeAssociation(mimeType: "x-scheme-handler/cc", desktopID: ours, isDefault: true),
    ]
    static func coffee(_ type: String, _ id: String) -> Bool { id.hasPrefix("appattach-Coffee_8wekyb3d8bbwe-") }

    static let userFile = """
        # my associations
        [Default Applications]
        text/plain=org.gnome.TextEditor.desktop;
        x-scheme-handler/cc=my-own.desktop
          image/png = eog.desktop ;

        [Added Associations]
        text/plain=org.gnome.TextEditor.desktop;vim.desktop;

        [Removed Associations]
        text/html=firefox.desktop;

        """

    @Test func mergePreservesForeignLinesAndNeverOverridesTheUsersDefault() {
        let merged = MimeAppsList.merge(Self.userFile, removing: Self.coffee, adding: Self.associations)
        #expect(merged == """
            # my associations
            [Default Applications]
            text/plain=org.gnome.TextEditor.desktop;
            x-scheme-handler/cc=my-own.desktop
              image/png = eog.desktop ;
            application/x-appattach-cc=\(Self.ours);

            [Added Associations]
            text/plain=org.gnome.TextEditor.desktop;vim.desktop;\(Self.ours);
            application/x-appattach-cc=\(Self.ours);
            x-scheme-handler/cc=\(Self.ours);

            [Removed Associations]
            text/html=firefox.desktop;

            """)
    }

    @Test func mergeIsIdempotentAndRemovalRestoresTheUsersFile() {
        let once = MimeAppsList.merge(Self.userFile, removing: Self.coffee, adding: Self.associations)
        #expect(MimeAppsList.merge(once, removing: Self.coffee, adding: Self.associations) == once)
        #expect(MimeAppsList.merge(once, removing: Self.coffee, adding: []) == Self.userFile)
    }

    @Test func emptyFileGetsSectionsAndLosesThemAgain() {
        let merged = MimeAppsList.merge("", removing: Self.coffee, adding: Self.associations)
        #expect(merged == """
            [Added Associations]
            application/x-appattach-cc=\(Self.ours);
            text/plain=\(Self.ours);
            x-scheme-handler/cc=\(Self.ours);

            [Default Applications]
            application/x-appattach-cc=\(Self.ours);
            x-scheme-handler/cc=\(Self.ours);

            """)
        #expect(MimeAppsList.merge(merged, removing: Self.coffee, adding: []) == "")
        let plain = "[Default Applications]\nimage/png=eog.desktop;\n"
        #expect(MimeAppsList.merge(MimeAppsList.merge(plain, removing: Self.coffee, adding: Self.associations),
                                   removing: Self.coffee, adding: []) == plain)
    }

    @Test func removalTouchesOnlyTheClaimedPackageAndArea() {
        let other = "appattach-Tea_aaaaaaaaaaaaa-App.desktop"
        let text = "[Added Associations]\ntext/plain=vim.desktop;\(Self.ours);\(other);\nx-scheme-handler/cc=\(Self.ours);\n"
        // A delayed registration manages file types only: the scheme line stays.
        let fileTypesOnly = MimeAppsList.merge(text, removing: { type, id in
            !type.hasPrefix("x-scheme-handler/") && Self.coffee(type, id)
        }, adding: [])
        #expect(fileTypesOnly == "[Added Associations]\ntext/plain=vim.desktop;\(other);\nx-scheme-handler/cc=\(Self.ours);\n")
        // Items that are not appattach's are never removed, whatever the predicate says.
        #expect(MimeAppsList.merge(text, removing: { _, _ in true }, adding: []) == "[Added Associations]\ntext/plain=vim.desktop;\n")
    }

    @Test func anotherPackagesDefaultIsSharedNotReplaced() {
        let other = "appattach-Tea_aaaaaaaaaaaaa-App.desktop"
        let text = "[Default Applications]\napplication/x-appattach-cc=\(other);\n"
        let merged = MimeAppsList.merge(text, removing: Self.coffee, adding: [Self.associations[0]])
        #expect(merged.hasPrefix("[Default Applications]\napplication/x-appattach-cc=\(other);\(Self.ours);\n"))
    }
}
