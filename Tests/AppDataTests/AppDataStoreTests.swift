import AppData
import Foundation
import Glibc
import LinuxSystem
import Testing
import TestSupport

/// The layer's life cycle with real accounts, as the user: made and restored, pushed into the
/// profile atomically, leftovers of a cut-short push removed, overlay details kept, and links
/// the user planted never followed.
@Suite("app data layers with real accounts (root: users)", .serialized, .tags(.makesUsers),
       .enabled(if: TestEnvironment.isRoot && TestEnvironment.hasTool("useradd") && TestEnvironment.hasTool("setpriv")
                    && TestEnvironment.hasTool("setfattr") && TestEnvironment.hasTool("getfattr"),
                "needs root, useradd, setpriv and setfattr/getfattr (attr) to make test users and overlay details"))
final class AppDataStoreTests {
    let pfn = "Contoso.Notes_8wekyb3d8bbwe"
    let root: String
    let store: AppDataStore

    init() {
        root = TestEnvironment.makeTemporaryDirectory("appdata")
        chmod(root, 0o755)
        store = AppDataStore(usersDirectory: root + "/users", files: UserFiles())
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func user() throws -> TestUser { try TestUser(base: root) }
    func layer(_ user: TestUser) -> String { "\(root)/users/\(user.account.uid)/\(pfn)" }
    func profile(_ user: TestUser) -> String { "\(user.home)/.local/share/appattach/\(pfn)" }

    /// What an app in the container leaves in the upper dirs: files, a link, a whiteout, an
    /// opaque directory, a user xattr, a set mtime; and a cache file.
    func plantAppWrites(_ user: TestUser) throws {
        let upper = layer(user) + "/config/upper"
        try user.shell("""
            cd '\(upper)' && mkdir -p app/sub opaque && echo 'theme=dark' > app/settings.ini && chmod 640 app/settings.ini \
            && head -c 300000 /dev/urandom > app/sub/blob && ln -s settings.ini app/current && mknod app/deleted.conf c 0 0 \
            && setfattr -n user.overlay.opaque -v y opaque && setfattr -n user.note -v kept app/settings.ini \
            && touch -h -d '2001-02-03 04:05:06' app/current && touch -d '2002-03-04 05:06:07' app/settings.ini \
            && echo s > '\(layer(user))/state/upper/history' && echo c > '\(layer(user))/cache/upper/thumb'
            """)
    }

    /// The overlay details of a config tree at `dir`, read with the attr tools and lstat.
    /// `inProfile`: whiteouts are `.wh.<name>` markers there, devices 0/0 in a layer.
    func expectAppWrites(at dir: String, _ user: TestUser, inProfile: Bool) throws {
        #expect(try String(contentsOfFile: dir + "/app/settings.ini", encoding: .utf8) == "theme=dark\n")
        let settings = lstatus(dir + "/app/settings.ini")
        #expect(settings.map { $0.st_mode } == S_IFREG | 0o640)
        #expect(settings?.st_uid == user.account.uid)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/app/current") == "settings.ini")
        if inProfile {
            let marker = lstatus(dir + "/app/.wh.deleted.conf")
            #expect(marker.map { $0.st_mode & S_IFMT == S_IFREG && $0.st_size == 0 } == true, "whiteout kept as an empty .wh. marker")
            #expect(lstatus(dir + "/app/deleted.conf") == nil)
        } else {
            let whiteout = lstatus(dir + "/app/deleted.conf")
            #expect(whiteout.map { $0.st_mode & S_IFMT == S_IFCHR && $0.st_rdev == 0 } == true, "whiteout kept as 0/0")
            #expect(lstatus(dir + "/app/.wh.deleted.conf") == nil)
        }
        let opaque = try TestEnvironment.run(["getfattr", "--absolute-names", "--only-values", "-n", "user.overlay.opaque", dir + "/opaque"])
        if inProfile {
            // The overlay's mark travels as the OCI marker, never as an attribute.
            #expect(opaque.status != 0, "\(opaque.output)")
            let marker = lstatus(dir + "/opaque/.wh..wh..opq")
            #expect(marker.map { $0.st_mode & S_IFMT == S_IFREG && $0.st_size == 0 } == true, "opaque directory kept as a .wh..wh..opq marker")
        } else {
            #expect(opaque.output == "y")
            #expect(lstatus(dir + "/opaque/.wh..wh..opq") == nil)
        }
        let note = try TestEnvironment.run(["getfattr", "--absolute-names", "--only-values", "-n", "user.note", dir + "/app/settings.ini"])
        #expect(note.output == "kept")
        let times = try TestEnvironment.run(["stat", "-c", "%y", dir + "/app/settings.ini"]).output
        #expect(times.hasPrefix("2002-03-04 05:06:07"), "\(times)")
        let linkTimes = try TestEnvironment.run(["stat", "-c", "%y", dir + "/app/current"]).output
        #expect(linkTimes.hasPrefix("2001-02-03 04:05:06"), "\(linkTimes)")
    }

    @Test("layer made as the user (0700), pushed into the profile with whiteouts, xattrs, links, modes and times; the cache is not pushed; restored the same way")
    func pushAndRestore() throws {
        let alice = try user()
        defer { alice.remove() }
        #expect(try store.prepareLayer(for: alice.account, packageFamilyName: pfn) == .made(restored: nil))
        for path in ["\(root)/users/\(alice.account.uid)", layer(alice)] {
            let st = lstatus(path)
            #expect(st?.st_uid == alice.account.uid && st.map { $0.st_mode & 0o7777 } == 0o700, "\(path)")
        }
        #expect(lstatus(root + "/users").map { $0.st_mode & 0o7777 } == 0o711)
        for area in AppDataArea.allCases {
            for part in ["upper", "work"] {
                #expect(lstatus("\(layer(alice))/\(area.rawValue)/\(part)")?.st_uid == alice.account.uid)
            }
        }
        try plantAppWrites(alice)
        let blob = try Data(contentsOf: URL(fileURLWithPath: layer(alice) + "/config/upper/app/sub/blob"))

        // An app's own file named like a marker would come back as a whiteout: not pushed, reported.
        try alice.shell("touch '\(layer(alice))/config/upper/app/.wh.own'")
        let push = try #require(try store.push(for: alice.account, packageFamilyName: pfn))
        #expect(push.copied.files == 3 && push.copied.bytes == 300_000 + 11 + 2 && !push.replacedPrevious)
        #expect(push.copied.skipped.count == 1 && push.copied.skipped.first?.hasPrefix("config/app/.wh.own (") == true, "\(push.copied.skipped)")
        #expect(lstatus(layer(alice)) == nil, "the layer is gone after the push")
        try expectAppWrites(at: profile(alice) + "/config", alice, inProfile: true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: profile(alice) + "/config/app/sub/blob")) == blob)
        #expect(try String(contentsOfFile: profile(alice) + "/state/history", encoding: .utf8) == "s\n")
        #expect(lstatus(profile(alice) + "/cache") == nil && lstatus(profile(alice) + "/data") != nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: alice.home + "/.local/share/appattach") == [pfn])

        guard case .made(let restored?) = try store.prepareLayer(for: alice.account, packageFamilyName: pfn) else {
            Issue.record("no restore"); return
        }
        #expect(restored.files == 3 && restored.bytes == push.copied.bytes && restored.skipped.isEmpty)
        try expectAppWrites(at: layer(alice) + "/config/upper", alice, inProfile: false)
        #expect(lstatus(layer(alice) + "/cache/upper/thumb") == nil)
        #expect(lstatus(layer(alice) + "/config/work") != nil)
        // A second call (every launch makes one) keeps the layer as it is.
        try alice.shell("echo newer > '\(layer(alice))/config/upper/app/settings.ini'")
        #expect(try store.prepareLayer(for: alice.account, packageFamilyName: pfn) == .existing)
        #expect(try String(contentsOfFile: layer(alice) + "/config/upper/app/settings.ini", encoding: .utf8) == "newer\n")

        // The second push replaces the first copy.
        let second = try #require(try store.push(for: alice.account, packageFamilyName: pfn))
        #expect(second.replacedPrevious)
        #expect(try String(contentsOfFile: profile(alice) + "/config/app/settings.ini", encoding: .utf8) == "newer\n")
    }

    @Test("leftovers of a cut-short push or restore are removed; the profile copy beside them stays whole")
    func leftoversCleaned() throws {
        let alice = try user()
        defer { alice.remove() }
        _ = try store.prepareLayer(for: alice.account, packageFamilyName: pfn)
        try alice.shell("echo one > '\(layer(alice))/config/upper/v'")
        _ = try store.push(for: alice.account, packageFamilyName: pfn)
        // Killed after the exchange: the previous copy waits under the temporary name. And a
        // restore cut short left a half layer.
        let temporary = ".\(pfn).new"
        try alice.shell("mkdir -p .local/share/appattach/\(temporary)/config/deep && echo old > .local/share/appattach/\(temporary)/config/v"
                        + " && chmod 000 .local/share/appattach/\(temporary)/config/deep"
                        + " && mkdir -p '\(root)/users/\(alice.account.uid)/\(temporary)/config'")
        _ = try store.prepareLayer(for: alice.account, packageFamilyName: pfn)
        #expect(lstatus("\(root)/users/\(alice.account.uid)/\(temporary)") == nil)
        #expect(lstatus("\(alice.home)/.local/share/appattach/\(temporary)") == nil)
        #expect(try String(contentsOfFile: layer(alice) + "/config/upper/v", encoding: .utf8) == "one\n")
        // Killed before the exchange: a half-written new copy; the next push removes it.
        try alice.shell("mkdir -p .local/share/appattach/\(temporary)/config && echo half > .local/share/appattach/\(temporary)/config/v"
                        + " && echo two > '\(layer(alice))/config/upper/v' && mkdir -m 0 '\(layer(alice))/config/work/work'")
        _ = try store.push(for: alice.account, packageFamilyName: pfn)
        #expect(try String(contentsOfFile: profile(alice) + "/config/v", encoding: .utf8) == "two\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: alice.home + "/.local/share/appattach") == [pfn])
        #expect(lstatus(layer(alice)) == nil, "removed, work/work at mode 0 included")
    }

    @Test("links in the layer or the profile to /etc/shadow or another user's home are copied as links, never followed; a FIFO is skipped")
    func linksNotFollowed() throws {
        let alice = try user()
        defer { alice.remove() }
        let bob = try user()
        defer { bob.remove() }
        try bob.shell("echo secret > diary && chmod 644 diary")
        _ = try store.prepareLayer(for: alice.account, packageFamilyName: pfn)
        try alice.shell("""
            ln -s /etc/shadow '\(layer(alice))/config/upper/shadow' && ln -s '\(bob.home)' '\(layer(alice))/config/upper/bob' \
            && rm -r '\(layer(alice))/data/upper' && ln -s '\(bob.home)' '\(layer(alice))/data/upper' \
            && rm -r '\(layer(alice))/state' && ln -s /etc '\(layer(alice))/state' && mkfifo '\(layer(alice))/config/upper/pipe'
            """)
        let push = try #require(try store.push(for: alice.account, packageFamilyName: pfn))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: profile(alice) + "/config/shadow") == "/etc/shadow")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: profile(alice) + "/config/bob") == bob.home)
        #expect(try FileManager.default.contentsOfDirectory(atPath: profile(alice) + "/data").isEmpty, "bob's home not copied")
        #expect(try FileManager.default.contentsOfDirectory(atPath: profile(alice) + "/state").isEmpty, "/etc not copied")
        #expect(push.copied.files == 0)
        #expect(push.copied.skipped.contains("config/pipe (FIFO)"), "\(push.copied.skipped)")
        #expect(push.copied.skipped.contains { $0.contains("data/upper (not a directory") }, "\(push.copied.skipped)")
        #expect(lstatus(bob.home + "/diary")?.st_size == 7 && lstatus("/etc/shadow") != nil)

        // The profile's side: a link at an area and in a tree are restored as links or left out.
        try alice.shell("rm -r .local/share/appattach/\(pfn)/data && ln -s '\(bob.home)' .local/share/appattach/\(pfn)/data")
        guard case .made(let restored?) = try store.prepareLayer(for: alice.account, packageFamilyName: pfn) else {
            Issue.record("no restore"); return
        }
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: layer(alice) + "/config/upper/shadow") == "/etc/shadow")
        #expect(try FileManager.default.contentsOfDirectory(atPath: layer(alice) + "/data/upper").isEmpty)
        #expect(restored.skipped.contains { $0.contains("/data (not a directory") }, "\(restored.skipped)")
        // A profile directory that is itself a link is refused, not followed.
        try alice.shell("rm -rf .local/share/appattach && ln -s '\(bob.home)' .local/share/appattach")
        #expect(throws: AppDataError.self) { try self.store.push(for: alice.account, packageFamilyName: self.pfn) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: bob.home) == ["diary"])
    }

    @Test("several layers in one visit: each made, restored or refused on its own, in order")
    func severalLayersAtOnce() async throws {
        let alice = try user()
        defer { alice.remove() }
        _ = try store.prepareLayer(for: alice.account, packageFamilyName: pfn)
        try alice.shell("echo kept > '\(layer(alice))/config/upper/v'")
        _ = try store.push(for: alice.account, packageFamilyName: pfn)
        let other = "Fabrikam.Paint_8wekyb3d8bbwe"
        let results = await store.prepareLayers(for: alice.account, packageFamilyNames: [pfn, "../escape", other])
        #expect(results.map(\.packageFamilyName) == [pfn, "../escape", other])
        guard results.count == 3, case .success(.made(let restored?)) = results[0].result else {
            Issue.record("\(results)"); return
        }
        #expect(restored.files == 1)
        #expect(try String(contentsOfFile: layer(alice) + "/config/upper/v", encoding: .utf8) == "kept\n")
        if case .success = results[1].result { Issue.record("a path as a family name was accepted") }
        // Nothing saved for the other package: no layer now, its first launch makes one.
        #expect((try? results[2].result.get()) == .nothingToRestore)
        #expect(lstatus("\(root)/users/\(alice.account.uid)/\(other)") == nil)
        #expect(try store.prepareLayer(for: alice.account, packageFamilyName: other) == .made(restored: nil))
        #expect(lstatus("\(root)/users/\(alice.account.uid)/\(other)/cache/work")?.st_uid == alice.account.uid)
    }

    @Test("a sign-in makes no layer for a package with nothing saved: no profile copy, or an empty one; anything in one is restored")
    func layersOnlyWithSavedData() async throws {
        let alice = try user()
        defer { alice.remove() }
        // An empty layer pushed leaves an empty profile copy: nothing to restore from it.
        _ = try store.prepareLayer(for: alice.account, packageFamilyName: pfn)
        _ = try store.push(for: alice.account, packageFamilyName: pfn)
        #expect(lstatus(profile(alice) + "/config").map { $0.st_mode & S_IFMT == S_IFDIR } == true)
        let empty = await store.prepareLayers(for: alice.account, packageFamilyNames: [pfn])
        #expect((try? empty.first?.result.get()) == .nothingToRestore)
        #expect(lstatus(layer(alice)) == nil)
        // Saved data of any kind, even an empty directory or a link, is restored at sign-in.
        for saved in ["mkdir -p '\(profile(alice))/state/empty'", "ln -s nowhere '\(profile(alice))/data/link'"] {
            try alice.shell(saved)
            let results = await store.prepareLayers(for: alice.account, packageFamilyNames: [pfn])
            guard case .success(.made(let restored?))? = results.first?.result else { Issue.record("\(saved): \(results)"); return }
            #expect(restored.files + restored.otherEntries >= 1, "\(saved): \(restored)")
            #expect(lstatus(layer(alice) + "/config/work") != nil)
            _ = try store.push(for: alice.account, packageFamilyName: pfn)
        }
    }

    @Test("another user can neither list nor read a user's layer or profile copy")
    func otherUsersLockedOut() throws {
        let alice = try user()
        defer { alice.remove() }
        let mallory = try user()
        defer { mallory.remove() }
        _ = try store.prepareLayer(for: alice.account, packageFamilyName: pfn)
        try alice.shell("echo private > '\(layer(alice))/config/upper/token' && chmod 644 '\(layer(alice))/config/upper/token'")
        for path in ["\(root)/users/\(alice.account.uid)", layer(alice), layer(alice) + "/config/upper/token"] {
            let result = try mallory.shell("cat '\(path)' 2>&1 || ls '\(path)' 2>&1", mayFail: true)
            #expect(result.status != 0 && result.output.contains("Permission denied"), "\(path): \(result.output)")
        }
        #expect(try mallory.shell("ls '\(root)/users'", mayFail: true).status != 0, "users/ cannot be listed")
        _ = try store.push(for: alice.account, packageFamilyName: pfn)
        for path in [alice.home + "/.local/share/appattach", profile(alice)] {
            #expect(lstatus(path).map { $0.st_mode & 0o7777 } == 0o700, "\(path)")
        }
    }
}
