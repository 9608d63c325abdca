@testable import AppData
import Foundation
import Glibc
import LinuxSystem
import Testing
import TestSupport

/// Pushes into homes whose file system cannot hold what a layer holds (no user extended
/// attributes, no links, no modes, no `renameat2` flags), and restores from them: the overlay's
/// marks travel as marker files and come back as they were; what cannot travel is dropped,
/// reported once, and never stops the push.
@Suite("app data in homes without xattrs, links or modes (root: users, mounts, loop devices)", .serialized,
       .tags(.makesUsers, .mounts, .attachesLoopDevices),
       .enabled(if: AppDataHost.canMakeUsers, "needs root, useradd, setpriv, python3 and setfattr/getfattr (attr) to make test users"))
final class PortableHomeTests {
    let scene = AppDataScene("appdata-portable")
    var pfn: String { scene.pfn }

    /// getfattr's answer for `name` of `path`: the value, or nil when it has none.
    func attribute(_ name: String, of path: String) throws -> String? {
        let result = try TestEnvironment.run(["getfattr", "--absolute-names", "--only-values", "-n", name, path])
        return result.status == 0 ? result.output : nil
    }

    @Test("a layer with a settings file, a deleted file, an opaque directory, a user.xdg attribute and a link is pushed into the home and restored from it",
          arguments: HomeFileSystem.available)
    func pushAndRestore(_ fileSystem: HomeFileSystem) throws {
        let alice = try scene.user()
        defer { alice.remove() }
        let home = try fileSystem.mount(over: alice, scratch: scene.root)
        defer { home.unmount() }
        #expect(try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn) == .made(restored: nil))
        let upper = scene.layer(alice) + "/config/upper"
        try alice.shell("""
            cd '\(upper)' && mkdir -p app opaque && echo 'theme=dark' > app/settings.ini && chmod 640 app/settings.ini \
            && setfattr -n user.xdg.origin.url -v https://example.org/notes app/settings.ini && mknod app/deleted.conf c 0 0 \
            && echo inner > opaque/inner && setfattr -n user.overlay.opaque -v y opaque && ln -s settings.ini app/current
            """)

        let push = try #require(try scene.store.push(for: alice.account, packageFamilyName: pfn))
        let copy = scene.profile(alice) + "/config"
        #expect(try String(contentsOfFile: copy + "/app/settings.ini", encoding: .utf8) == "theme=dark\n")
        let whiteout = lstatus(copy + "/app/.wh.deleted.conf")
        #expect(whiteout.map { $0.st_mode & S_IFMT == S_IFREG && $0.st_size == 0 } == true, "whiteout as an empty .wh. marker")
        let opaque = lstatus(copy + "/opaque/.wh..wh..opq")
        #expect(opaque.map { $0.st_mode & S_IFMT == S_IFREG && $0.st_size == 0 } == true, "opaque directory as .wh..wh..opq")
        #expect(try String(contentsOfFile: copy + "/opaque/inner", encoding: .utf8) == "inner\n")
        if fileSystem.keepsLinks {
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: copy + "/app/current") == "settings.ini")
            #expect(push.copied.linksAsMarkers == 0)
        } else {
            #expect(try String(contentsOfFile: copy + "/app/.lnk.current", encoding: .utf8) == "settings.ini", "the link as a .lnk. marker")
            #expect(lstatus(copy + "/app/current") == nil)
            #expect(push.copied.linksAsMarkers == 1)
        }
        #expect(push.copied.droppedAttributes == [TreeCopy.DroppedAttribute(path: "config/app/settings.ini", name: "user.xdg.origin.url",
                                                                             reason: String(cString: strerror(EOPNOTSUPP)))],
                "one report of the dropped attribute: \(push.copied.droppedAttributes)")
        #expect(fileSystem.keepsModes ? push.copied.modesNotKept == 0 : push.copied.modesNotKept > 0, "\(push.copied.modesNotKept)")
        #expect(push.copied.skipped.isEmpty, "\(push.copied.skipped)")
        #expect(scene.generation(ofCopy: scene.profile(alice))?.count == 32)

        guard case .made(let restored?) = try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn) else {
            Issue.record("no restore"); return
        }
        #expect(restored.droppedAttributes.isEmpty && restored.skipped.isEmpty, "\(restored)")
        #expect(try String(contentsOfFile: upper + "/app/settings.ini", encoding: .utf8) == "theme=dark\n")
        let device = lstatus(upper + "/app/deleted.conf")
        #expect(device.map { $0.st_mode & S_IFMT == S_IFCHR && $0.st_rdev == 0 } == true, "the whiteout device back")
        #expect(try attribute("user.overlay.opaque", of: upper + "/opaque") == "y", "the opaque mark back")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: upper + "/app/current") == "settings.ini", "the link back")
        for marker in ["/app/.wh.deleted.conf", "/opaque/.wh..wh..opq", "/app/.lnk.current", "/" + ProfileGeneration.fileName] {
            #expect(lstatus(upper + marker) == nil, "\(marker) is no file in the layer")
        }
        #expect(try attribute("user.xdg.origin.url", of: upper + "/app/settings.ini") == nil, "what the home could not hold is gone")

        // A second push replaces the first: RENAME_EXCHANGE, or three renames where the home
        // has no renameat2 flags.
        try alice.shell("echo 'theme=light' > '\(upper)/app/settings.ini'")
        let second = try #require(try scene.store.push(for: alice.account, packageFamilyName: pfn))
        #expect(second.replacedPrevious && second.kept == nil)
        #expect(try String(contentsOfFile: copy + "/app/settings.ini", encoding: .utf8) == "theme=light\n")
        #expect(try scene.profileNames(alice) == [pfn], "no leftover beside the profile copy")
    }

    @Test("names the home refuses (FAT: a colon, a case-insensitive duplicate) are left out and reported; the push goes on",
          arguments: HomeFileSystem.available)
    func refusedNames(_ fileSystem: HomeFileSystem) throws {
        let alice = try scene.user()
        defer { alice.remove() }
        let home = try fileSystem.mount(over: alice, scratch: scene.root)
        defer { home.unmount() }
        _ = try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn)
        let upper = scene.layer(alice) + "/config/upper"
        try alice.shell("cd '\(upper)' && echo a > Notes && echo b > notes && echo c > 'file:recent' && echo d > kept")
        let push = try #require(try scene.store.push(for: alice.account, packageFamilyName: pfn))
        let copied = try FileManager.default.contentsOfDirectory(atPath: scene.profile(alice) + "/config")
        if fileSystem.kind == .ramfs {
            #expect(push.copied.skipped.isEmpty && copied.count == 4, "\(push.copied.skipped) \(copied)")
        } else {
            #expect(push.copied.skipped.count == 2, "a case-insensitive duplicate and a colon: \(push.copied.skipped)")
            #expect(push.copied.skipped.allSatisfy { $0.contains("the home's file system refuses the name") })
            #expect(copied.count == 2, "\(copied)")
        }
        #expect(try String(contentsOfFile: scene.profile(alice) + "/config/kept", encoding: .utf8) == "d\n")
    }
}
