import Foundation
import MSIX
import Registration
import Testing
import TestSupport

@Suite struct PlanTests {
    let fixture = CoffeeFixture.shared
    let pfn = CoffeeFixture.familyName

    @Test func delayedPlanHasOneDesktopEntryPerApplicationAndNothingElse() {
        let plan = fixture.plan(.delayed)
        #expect(plan.packageFamilyName == pfn)
        #expect(plan.packageFullName == CoffeeFixture.fullName)
        let paths = Set(plan.files.map(\.path))
        #expect(paths == Set(["TE.ProcessHost", "CCoffee", "CCoffeeMug", "CCoffeeCup", "CCoffeeDDECup"].map {
            ".local/share/applications/appattach-\(pfn)-\($0).desktop"
        }))
        #expect(plan.files.allSatisfy { $0.area == .menu && $0.mode == 0o644 })
        #expect(!plan.associations.contains { $0.mimeType.hasPrefix("x-scheme-handler/") })
        #expect(!plan.restoresAppData)
    }

    @Test func delayedDesktopEntryText() throws {
        let entry = try #require(CoffeeFixture.file(fixture.plan(.delayed), "-CCoffee.desktop"))
        let icon = fixture.sharedDir + "/icons/hicolor/256x256/apps/appattach-\(pfn)-CCoffee.png"
        #expect(entry.text == """
            [Desktop Entry]
            Type=Application
            Version=1.4
            Name=Centennial Coffee
            Comment=Centennial Test App
            Icon=appattach-\(pfn)-CCoffee
            Exec=appattachctl launch \(pfn)!CCoffee %U
            Terminal=false
            MimeType=application/x-appattach-centcoffee;
            X-AppAttach-Package=\(CoffeeFixture.fullName)
            X-AppAttach-Registration=delayed

            """)
        // The icon named is the 256-pixel variant, byte for byte (published by its theme name).
        let original = try Data(contentsOf: URL(fileURLWithPath: fixture.packageDir + "/Assets/AppList.targetsize-256.png"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: icon)) == original)
    }

    @Test func regularEntryAddsTheSchemeHandler() throws {
        let entry = try #require(CoffeeFixture.file(fixture.plan(.regular), "-CCoffee.desktop"))
        #expect(entry.text.contains("\nMimeType=application/x-appattach-centcoffee;x-scheme-handler/centcoffee;\n"))
        #expect(entry.text.contains("\nX-AppAttach-Registration=regular\n"))
    }

    @Test func knownExtensionsUseTheSystemTypeAndNeverBecomeDefault() throws {
        let plan = fixture.plan(.delayed)
        let mug = try #require(CoffeeFixture.file(plan, "-CCoffeeMug.desktop"))
        #expect(mug.text.contains("\nMimeType=application/x-appattach-centcoffeemug;text/plain;\n"))
        let id = "appattach-\(pfn)-CCoffeeMug.desktop"
        #expect(plan.associations.contains(MimeAssociation(mimeType: "text/plain", desktopID: id, isDefault: false)))
        #expect(plan.associations.contains(MimeAssociation(mimeType: "application/x-appattach-centcoffeemug", desktopID: id, isDefault: true)))
    }

    @Test func regularPlanHasSchemesAliasesAndEnabledStartupTasks() throws {
        let plan = fixture.plan(.regular)
        #expect(plan.restoresAppData)
        #expect(plan.associations.contains(MimeAssociation(mimeType: "x-scheme-handler/centcoffee",
                                                           desktopID: "appattach-\(pfn)-CCoffee.desktop", isDefault: true)))
        let alias = try #require(CoffeeFixture.file(plan, ".local/bin/CoffeeCupAlias"))
        #expect(alias.mode == 0o755)
        #expect(alias.area == .executionAliases)
        #expect(alias.ownership == .marker("# appattach-alias \(pfn)!CCoffeeCup"))
        #expect(alias.text.hasPrefix("#!/bin/sh\n# appattach-alias \(pfn)!CCoffeeCup\n"))
        // Only the one enabled task of three gets an autostart entry.
        let autostart = plan.files.filter { $0.area == .startupTasks }
        #expect(autostart.map(\.path) == [".config/autostart/appattach-\(pfn)-CoffeeStartupTask.desktop"])
        let text = autostart[0].text
        #expect(text.contains("\nName=Centennial Coffee\n"), "ms-resource: display names fall back to the app's")
        #expect(text.contains("\nExec=appattachctl launch \(pfn)!CCoffee\n"))
        #expect(text.contains("\nX-AppAttach-StartupTask=CoffeeStartupTask\n"))
    }

    @Test func aliasScriptPassesItsArgumentsToTheLauncher() throws {
        let alias = try #require(CoffeeFixture.file(fixture.plan(.regular), "CoffeeCupAlias"))
        let dir = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A stand-in launcher that prints its arguments one per line; /bin/sh runs our script.
        try "#!/bin/sh\nfor a in \"$@\"; do echo \"[$a]\"; done\n".write(toFile: dir + "/appattachctl", atomically: true, encoding: .utf8)
        chmod(dir + "/appattachctl", 0o755)
        try Data(alias.contents).write(to: URL(fileURLWithPath: dir + "/alias"))
        let result = try TestEnvironment.run(["env", "PATH=\(dir):/usr/bin:/bin", "sh", dir + "/alias", "a b", "$HOME", "c'd"])
        #expect(result.status == 0)
        #expect(result.output == "[launch]\n[\(pfn)!CCoffeeCup]\n[a b]\n[$HOME]\n[c'd]\n")
    }

    @Test func namesFromTheManifestCannotAddLines() throws {
        var manifest = fixture.manifest
        manifest.applications[1].displayName = "Evil\nExec=/bin/rm -rf ~"
        manifest.applications[1].description = "back\\slash\ttab"
        let entry = try #require(CoffeeFixture.file(fixture.plan(.delayed, manifest: manifest), "-CCoffee.desktop"))
        #expect(entry.text.contains("\nName=Evil\\nExec=/bin/rm -rf ~\n"))
        #expect(entry.text.contains("\nComment=back\\\\slash\\ttab\n"))
        #expect(entry.text.components(separatedBy: "\nExec=").count == 2)
    }

    /// The manifest rules refuse such names (`ManifestRulesTests`); a manifest that reached
    /// registration some other way gets no alias all the same.
    /// An app id with a line break (refused by the manifest rules; here as if it got through):
    /// the `Exec=` line stays one line, and the alias script one command.
    @Test func anAppIDCannotEndTheExecLine() throws {
        var manifest = fixture.manifest
        manifest.applications[1].id = "A\nExec=/usr/bin/touch /tmp/pwned"
        let plan = fixture.plan(.delayed, manifest: manifest)
        let entry = try #require(plan.files.first { $0.path.hasSuffix(".desktop") && $0.text.contains("touch") })
        #expect(!entry.text.split(separator: "\n").contains { $0.hasPrefix("Exec=/usr/bin/touch") }, "\(entry.text)")
        #expect(entry.text.components(separatedBy: "\nExec=").count == 2, "\(entry.text)")
        #expect(entry.text.contains("\\nExec=/usr/bin/touch"), "the break written as \\n: \(entry.text)")
        // Regular: the app with an alias gets the same id; its script would carry the id in
        // its marker line, so no script is written.
        manifest.applications[3].id = "B\nExec=/usr/bin/touch /tmp/pwned"
        let regular = fixture.plan(.regular, manifest: manifest)
        for file in regular.files {
            #expect(!file.text.split(separator: "\n").contains { $0.hasPrefix("Exec=/usr/bin/touch") }, "\(file.path): \(file.text)")
        }
        #expect(!regular.files.contains { $0.area == .executionAliases && $0.text.contains("touch") })
    }

    @Test func unusableAliasNamesAreNotedNotWritten() throws {
        var manifest = fixture.manifest
        let original = try #require(manifest.applications[3].extensions.executionAliases.first)
        var escaping = original, hidden = original
        escaping.alias = "../evil.exe"
        hidden.alias = ".hidden"
        manifest.applications[3].extensions.executionAliases = [escaping, hidden]
        let plan = fixture.plan(.regular, manifest: manifest)
        #expect(!plan.files.contains { $0.area == .executionAliases })
        #expect(plan.notes.count == 2)
    }

    @Test func launcherWithSpacesIsQuotedForExec() throws {
        let plan = RegistrationPlan(manifest: fixture.manifest, integration: fixture.integration, mode: .delayed, home: "/h",
                                    launcher: LaunchCommand(program: "/opt/app attach/appattachctl"))
        let entry = try #require(CoffeeFixture.file(plan, "-CCoffee.desktop"))
        #expect(entry.text.contains("\nExec=\"/opt/app attach/appattachctl\" launch \(pfn)!CCoffee %U\n"))
    }
}
