import Foundation
import Glibc
import LinuxSystem
import Registration
import Testing
import TestSupport

/// Register and Deregister on a scratch home owned by the account running the tests, so the
/// worker needs no switch: what the files say, and what GLib makes of them.
@Suite(.serialized) struct HomeConvergenceTests {
    let fixture = CoffeeFixture.shared
    let pfn = CoffeeFixture.familyName
    let files = UserFiles()

    func scratchHome() -> (String, UserAccount) {
        let home = TestEnvironment.makeTemporaryDirectory("home")
        return (home, CoffeeFixture.currentUser(home: home))
    }

    @Test func registerWritesThePlanAndIsIdempotent() throws {
        let (home, user) = scratchHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let plan = fixture.plan(.regular, home: home)
        let register = Register(files: files)
        let first = try register.run([plan], for: user)
        #expect(Set(first.written) == Set(plan.files.map(\.path) + [".config/mimeapps.list"]))
        for file in plan.files {
            #expect(try Data(contentsOf: URL(fileURLWithPath: home + "/" + file.path)) == Data(file.contents))
            let mode = try FileManager.default.attributesOfItem(atPath: home + "/" + file.path)[.posixPermissions] as? Int
            #expect(mode == Int(file.mode))
        }
        #expect(try register.run([plan], for: user).isEmpty)
    }

    @Test func delayedRegistrationKeepsWhatACompletedOneAdded() throws {
        let (home, user) = scratchHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let register = Register(files: files)
        try register.run([fixture.plan(.regular, home: home)], for: user)
        let changes = try register.run([fixture.plan(.delayed, home: home)], for: user)
        // Desktop entries lose their scheme handlers; the alias, autostart and scheme default stay.
        #expect(changes.removed.isEmpty)
        #expect(FileManager.default.fileExists(atPath: home + "/.local/bin/CoffeeCupAlias"))
        #expect(FileManager.default.fileExists(atPath: home + "/.config/autostart/appattach-\(pfn)-CoffeeStartupTask.desktop"))
        let mimeapps = try String(contentsOfFile: home + "/.config/mimeapps.list", encoding: .utf8)
        #expect(mimeapps.contains("x-scheme-handler/centcoffee=appattach-\(pfn)-CCoffee.desktop;"))
    }

    @Test func staleFilesOfThePackageGoOthersStay() throws {
        let (home, user) = scratchHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let apps = home + "/.local/share/applications"
        try FileManager.default.createDirectory(atPath: apps, withIntermediateDirectories: true)
        for name in ["appattach-\(pfn)-Gone.desktop", ".appattach-\(pfn)-CCoffee.desktop.tmp-0a0b", "appattach-Tea_aaaaaaaaaaaaa-App.desktop", "mine.desktop"] {
            try "x".write(toFile: apps + "/" + name, atomically: false, encoding: .utf8)
        }
        let changes = try Register(files: files).run([fixture.plan(.delayed, home: home)], for: user)
        #expect(Set(changes.removed) == [".local/share/applications/appattach-\(pfn)-Gone.desktop",
                                         ".local/share/applications/.appattach-\(pfn)-CCoffee.desktop.tmp-0a0b"])
        #expect(FileManager.default.fileExists(atPath: apps + "/appattach-Tea_aaaaaaaaaaaaa-App.desktop"))
        #expect(FileManager.default.fileExists(atPath: apps + "/mine.desktop"))
    }

    @Test func deregisterRemovesEverythingOfThePackageAndOnlyThat() throws {
        let (home, user) = scratchHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        try FileManager.default.createDirectory(atPath: home + "/.config", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: home + "/.local/bin", withIntermediateDirectories: true)
        let userMimeApps = "[Default Applications]\ntext/plain=vim.desktop;\n"
        try userMimeApps.write(toFile: home + "/.config/mimeapps.list", atomically: false, encoding: .utf8)
        try "#!/bin/sh\necho mine\n".write(toFile: home + "/.local/bin/tool", atomically: false, encoding: .utf8)
        try Register(files: files).run([fixture.plan(.regular, home: home)], for: user)
        let changes = try Deregister(files: files).run(.packages([pfn]), for: user)
        #expect(changes.removed.contains(".local/bin/CoffeeCupAlias"))
        #expect(changes.written == [".config/mimeapps.list"])
        #expect(try String(contentsOfFile: home + "/.config/mimeapps.list", encoding: .utf8) == userMimeApps)
        #expect(try String(contentsOfFile: home + "/.local/bin/tool", encoding: .utf8) == "#!/bin/sh\necho mine\n")
        for dir in [".local/share/applications", ".config/autostart", ".local/bin"] {
            let left = try FileManager.default.contentsOfDirectory(atPath: home + "/" + dir)
            #expect(!left.contains { $0.contains("appattach") || $0 == "CoffeeCupAlias" }, "\(dir): \(left)")
        }
        #expect(try Deregister(files: files).run(.packages([pfn]), for: user).isEmpty)
    }

    @Test func aUsersFileAtAnAliasNameIsLeftAlone() throws {
        let (home, user) = scratchHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        try FileManager.default.createDirectory(atPath: home + "/.local/bin", withIntermediateDirectories: true)
        try "#!/bin/sh\necho mine\n".write(toFile: home + "/.local/bin/CoffeeCupAlias", atomically: false, encoding: .utf8)
        let changes = try Register(files: files).run([fixture.plan(.regular, home: home)], for: user)
        #expect(changes.leftAlone == ["~/.local/bin/CoffeeCupAlias is not appattach's; alias not installed"])
        try Deregister(files: files).run(.everyPackage, for: user)
        #expect(try String(contentsOfFile: home + "/.local/bin/CoffeeCupAlias", encoding: .utf8) == "#!/bin/sh\necho mine\n")
    }

    @Test func twoPackagesWantingOneAliasDoNotTakeItFromEachOther() throws {
        let (home, user) = scratchHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        var tea = fixture.manifest
        tea.identity.name = "Tea"
        let teaPlan = fixture.plan(.regular, home: home, manifest: tea)
        let register = Register(files: files)
        try register.run([fixture.plan(.regular, home: home)], for: user)
        let changes = try register.run([teaPlan, fixture.plan(.regular, home: home)], for: user)
        #expect(changes.leftAlone == ["~/.local/bin/CoffeeCupAlias belongs to \(pfn); alias not installed"])
        #expect(try register.run([teaPlan, fixture.plan(.regular, home: home)], for: user).isEmpty)
        try Deregister(files: files).run(.packages([pfn]), for: user)
        let after = try register.run([teaPlan], for: user)
        #expect(after.written.contains(".local/bin/CoffeeCupAlias"), "free again, so the other package gets it")
        #expect(try String(contentsOfFile: home + "/.local/bin/CoffeeCupAlias", encoding: .utf8).contains("Tea_8wekyb3d8bbwe!CCoffeeCup"))
    }

    @Test func hooksRunForRegularRegistrationAndBeforeDeregistration() throws {
        let (home, user) = scratchHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let seen = Recorder()
        let register = Register(files: files) { user, plan in seen.add("restore \(plan.packageFamilyName)") }
        try register.run([fixture.plan(.delayed, home: home)], for: user)
        try register.run([fixture.plan(.regular, home: home)], for: user)
        struct Refused: Error {}
        let failing = Deregister(files: files) { _, family in
            seen.add("save \(family)")
            throw Refused()
        }
        #expect(throws: RegistrationError.self) { try failing.run(.packages([pfn]), for: user) }
        #expect(FileManager.default.fileExists(atPath: home + "/.local/share/applications/appattach-\(pfn)-CCoffee.desktop"),
                "a failed save leaves the registration in place")
        #expect(seen.items == ["restore \(pfn)", "save \(pfn)"])
    }

    /// GLib reads what we wrote as a desktop would: the entries parse, the package's own type
    /// defaults to its app, the scheme handler is found, and text/plain keeps its default.
    @Test(.enabled(if: TestEnvironment.hasTool("gio"), "needs gio (libglib2.0-bin)"))
    func glibFindsTheRegisteredHandlers() throws {
        let (home, user) = scratchHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        try Register(files: files).run([fixture.plan(.regular, home: home)], for: user)
        // GLib ignores entries whose Exec program is not on PATH.
        try FileManager.default.createDirectory(atPath: home + "/bin", withIntermediateDirectories: true)
        try "#!/bin/sh\n".write(toFile: home + "/bin/appattachctl", atomically: false, encoding: .utf8)
        chmod(home + "/bin/appattachctl", 0o755)
        // A system with its own text editor as the default for text/plain.
        try FileManager.default.createDirectory(atPath: home + "/system/applications", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: home + "/xdg", withIntermediateDirectories: true)
        try "[Desktop Entry]\nType=Application\nName=Editor\nExec=appattachctl %F\nMimeType=text/plain;\n"
            .write(toFile: home + "/system/applications/editor.desktop", atomically: false, encoding: .utf8)
        try "[Default Applications]\ntext/plain=editor.desktop;\n".write(toFile: home + "/xdg/mimeapps.list", atomically: false, encoding: .utf8)
        func gio(_ type: String) throws -> String {
            try TestEnvironment.run(["env", "-i", "LC_ALL=C.UTF-8", "HOME=\(home)", "PATH=\(home)/bin:/usr/bin:/bin",
                                     "XDG_DATA_DIRS=\(home)/system", "XDG_CONFIG_DIRS=\(home)/xdg", "gio", "mime", type]).output
        }
        #expect(try gio("x-scheme-handler/centcoffee").contains("Default application for “x-scheme-handler/centcoffee”: appattach-\(pfn)-CCoffee.desktop"))
        #expect(try gio("application/x-appattach-centcoffeemug").contains(": appattach-\(pfn)-CCoffeeMug.desktop"))
        let plain = try gio("text/plain")
        #expect(plain.contains("appattach-\(pfn)-CCoffeeMug.desktop"), "offered for text/plain: \(plain)")
        #expect(plain.contains("Default application for “text/plain”: editor.desktop"), "\(plain)")
    }
}

/// Lines appended from hooks, which run on other threads.
final class Recorder: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var items: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}
