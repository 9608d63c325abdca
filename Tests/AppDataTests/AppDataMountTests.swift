@testable import AppData
import Foundation
import Glibc
import LinuxSystem
import Testing
import TestSupport

/// Mounts users put in their own layers and profile directories, for real (a silent FUSE
/// server cannot be stood in for by a tmpfs here: a tmpfs answers; it shows what is entered).
/// The user owns their layer directory and can mount a FUSE file system anywhere in it or on
/// it; the agent's copies never enter one.
@Suite("app data and mounts placed by users (root: users, mounts)", .serialized, .tags(.makesUsers, .mounts),
       .enabled(if: TestEnvironment.isRoot && TestEnvironment.hasTool("useradd") && TestEnvironment.hasTool("setpriv"),
                "needs root, useradd and setpriv"))
struct AppDataMountTests {
    @Test("a mount inside a layer is left out of the push and named; one on users/<uid> or at the profile directory refuses the work, naming it")
    func mountsAreNotEntered() throws {
        let scene = AppDataScene("appdata-mounts")
        let alice = try scene.user()
        defer { alice.remove() }
        // Wherever the layer's retirement moved the mounts to.
        defer { scene.unmountAll() }
        _ = try scene.store.prepareLayer(for: alice.account, packageFamilyName: scene.pfn)
        let upper = scene.layer(alice) + "/config/upper"
        try alice.shell("mkdir -p '\(upper)/mnt' && echo kept > '\(upper)/notes.txt'")
        try #require(mount("appattach-test", upper + "/mnt", "tmpfs", 0, "mode=0777") == 0, "mount tmpfs in the layer")
        defer { umount2(upper + "/mnt", 0) }
        try "secret of the mount\n".write(toFile: upper + "/mnt/inside", atomically: false, encoding: .utf8)

        let push = try #require(try scene.store.push(for: alice.account, packageFamilyName: scene.pfn))
        #expect(push.copied.skipped.contains { $0.contains("mnt") && $0.contains("a mount point") }, "\(push.copied.skipped)")
        #expect(try String(contentsOfFile: scene.profile(alice) + "/config/notes.txt", encoding: .utf8) == "kept\n")
        #expect(lstatus(scene.profile(alice) + "/config/mnt/inside") == nil, "nothing of the mount copied")
        umount2(upper + "/mnt", 0)

        // A mount on users/<uid> itself (the user owns it): the layer's work is refused.
        let mine = scene.store.usersDirectory + "/\(alice.account.uid)"
        try #require(mount("appattach-test", mine, "tmpfs", 0, "mode=0700,uid=\(alice.account.uid)") == 0)
        do {
            defer { umount2(mine, 0) }
            #expect {
                _ = try scene.store.prepareLayer(for: alice.account, packageFamilyName: scene.pfn)
            } throws: { "\($0)".contains("a mount point") && "\($0)".contains(mine) }
        }

        // A mount at the profile directory in the home: the push is refused, the layer stays;
        // a new layer is refused too (it would be restored from there).
        _ = try scene.store.prepareLayer(for: alice.account, packageFamilyName: scene.pfn)
        let profileParent = scene.profileParent(alice)
        try #require(mount("appattach-test", profileParent, "tmpfs", 0, "mode=0700,uid=\(alice.account.uid)") == 0)
        defer { umount2(profileParent, 0) }
        #expect {
            _ = try scene.store.push(for: alice.account, packageFamilyName: scene.pfn)
        } throws: { "\($0)".contains("a mount point") && "\($0)".contains("'~/.local/share/appattach'") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: profileParent).isEmpty)
        #expect(lstatus(scene.layer(alice)) != nil, "the layer stays for another attempt")
    }
}
