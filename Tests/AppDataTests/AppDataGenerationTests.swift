@testable import AppData
import Foundation
import Glibc
import LinuxSystem
import Testing
import TestSupport

/// Whose data wins, with real accounts: a layer replaces the profile copy only when it was made
/// from that very copy; when another host pushed since, or the layer was left behind, both are
/// kept. And a user who never launched anything has nothing to push.
@Suite("app data generations and conflicts (root: users)", .serialized, .tags(.makesUsers),
       .enabled(if: AppDataHost.canMakeUsers, "needs root, useradd, setpriv, python3 and setfattr/getfattr (attr) to make test users"))
final class AppDataGenerationTests {
    let scene = AppDataScene("appdata-generations")
    var pfn: String { scene.pfn }

    @Test("a user without a layer directory, or without a layer, has nothing to push: nil, no error, nothing made in the home")
    func nothingToPush() throws {
        let alice = try scene.user()
        defer { alice.remove() }
        #expect(lstatus("\(scene.root)/users/\(alice.account.uid)") == nil)
        #expect(try scene.store.push(for: alice.account, packageFamilyName: pfn) == nil)
        // Another package's layer made the user directory; this one never launched.
        _ = try scene.store.prepareLayer(for: alice.account, packageFamilyName: "Fabrikam.Paint_8wekyb3d8bbwe")
        #expect(try scene.store.push(for: alice.account, packageFamilyName: pfn) == nil)
        #expect(lstatus(alice.home + "/.local") == nil, "nothing written into the home")
    }

    @Test("each push gives the profile copy a new generation; a layer records the one it came from; the generation never enters a layer")
    func generationsRecorded() throws {
        let alice = try scene.user()
        defer { alice.remove() }
        #expect(try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn) == .made(restored: nil))
        #expect(try String(contentsOfFile: scene.layer(alice) + "/" + LayerRecord.originFile, encoding: .utf8) == "none\n")
        try scene.session("one", in: scene.layer(alice), as: alice)
        let first = try #require(try scene.store.push(for: alice.account, packageFamilyName: pfn))
        #expect(first.kept == nil && first.leftovers.isEmpty)
        let generation = try #require(scene.generation(ofCopy: scene.profile(alice)))
        #expect(generation.count == 32 && generation.allSatisfy(\.isHexDigit), "\(generation)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scene.profile(alice)).sorted()
                == [ProfileGeneration.fileName, "config", "data", "state"])

        guard case .made(let restored?) = try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn) else {
            Issue.record("no restore"); return
        }
        #expect(restored.files == first.copied.files, "the generation file is not restored")
        #expect(try String(contentsOfFile: scene.layer(alice) + "/" + LayerRecord.originFile, encoding: .utf8) == generation + "\n")
        let found = try TestEnvironment.run(["find", scene.layer(alice), "-name", ProfileGeneration.fileName]).output
        #expect(found.isEmpty, "\(found)")

        try scene.session("two", in: scene.layer(alice), as: alice)
        let second = try #require(try scene.store.push(for: alice.account, packageFamilyName: pfn))
        #expect(second.replacedPrevious && second.kept == nil)
        let next = try #require(scene.generation(ofCopy: scene.profile(alice)))
        #expect(next != generation)
        #expect(try String(contentsOfFile: scene.profile(alice) + "/config/app/two.txt", encoding: .utf8) == "two\n")
        let layers = try scene.layerNames(alice)
        #expect(layers.isEmpty, "the layer is retired and removed: \(layers)")
    }

    @Test("another host pushed since this layer was made: the profile copy stays as that host left it, this host's data is kept beside it")
    func otherHostPushedFirst() throws {
        let alice = try scene.user()
        defer { alice.remove() }
        _ = try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn)
        try scene.session("start", in: scene.layer(alice), as: alice)
        _ = try scene.store.push(for: alice.account, packageFamilyName: pfn)
        // Signed in on both hosts at once, both from the same profile copy.
        _ = try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn)
        _ = try scene.otherHost.prepareLayer(for: alice.account, packageFamilyName: pfn)
        try scene.session("here", files: 5, in: scene.layer(alice), as: alice)
        try scene.session("there", in: scene.layer(alice, host: scene.otherHost), as: alice)
        let here = try scene.digest(scene.layer(alice) + "/config/upper")
        let there = try #require(try scene.otherHost.push(for: alice.account, packageFamilyName: pfn))
        #expect(there.kept == nil)
        let pushedThere = try scene.configDigest(ofCopy: scene.profile(alice))
        let generationThere = scene.generation(ofCopy: scene.profile(alice))

        let push = try #require(try scene.store.push(for: alice.account, packageFamilyName: pfn))
        let kept = try #require(push.kept)
        #expect(!push.replacedPrevious)
        #expect(try scene.configDigest(ofCopy: scene.profile(alice)) == pushedThere, "the other host's push is untouched")
        #expect(scene.generation(ofCopy: scene.profile(alice)) == generationThere)
        #expect(try scene.keptCopies(alice).map { ".local/share/appattach/" + $0 } == [kept])
        #expect(kept.range(of: #"^\.local/share/appattach/Contoso\.Notes_8wekyb3d8bbwe\.kept-\d{8}T\d{6}Z$"#, options: .regularExpression) != nil, "\(kept)")
        #expect(try scene.configDigest(ofCopy: alice.home + "/" + kept) == here, "this host's data, whole, in the kept copy")
        #expect(scene.generation(ofCopy: alice.home + "/" + kept).map { $0 != generationThere } == true)
        #expect(push.copied.files == here.count)
        #expect(try scene.layerNames(alice).isEmpty)
        // The next sign-in restores the profile copy, not the kept one.
        _ = try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn)
        #expect(try scene.digest(scene.layer(alice) + "/config/upper") == pushedThere)
    }

    @Test("a layer left behind meets a profile copy another host pushed since: at sign-in it is kept in the home and the layer made anew; while its apps run it is left alone",
          arguments: [false, true])
    func leftBehindLayerAtSignIn(appsRunning: Bool) throws {
        let alice = try scene.user()
        defer { alice.remove() }
        _ = try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn)
        try scene.session("start", in: scene.layer(alice), as: alice)
        _ = try scene.store.push(for: alice.account, packageFamilyName: pfn)
        _ = try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn)
        _ = try scene.otherHost.prepareLayer(for: alice.account, packageFamilyName: pfn)
        try scene.session("here", in: scene.layer(alice), as: alice)
        try scene.session("there", in: scene.layer(alice, host: scene.otherHost), as: alice)
        let here = try scene.digest(scene.layer(alice) + "/config/upper")
        // This host never pushed (it went down); the other one did.
        _ = try scene.otherHost.push(for: alice.account, packageFamilyName: pfn)
        let there = try scene.configDigest(ofCopy: scene.profile(alice))

        let store = appsRunning ? AppDataStore(usersDirectory: scene.store.usersDirectory, files: scene.files,
                                               scopes: AppScopes(cgroupRoot: try scene.cgroupTree(withAppOf: alice))) : scene.store
        let preparation = try store.prepareLayer(for: alice.account, packageFamilyName: pfn)
        if appsRunning {
            #expect(preparation == .existing, "a layer in use is never retired under its apps")
            #expect(try scene.digest(scene.layer(alice) + "/config/upper") == here)
            #expect(try scene.keptCopies(alice).isEmpty)
            // Its sign-out settles it: kept beside the profile copy.
            let push = try #require(try scene.store.push(for: alice.account, packageFamilyName: pfn))
            #expect(push.kept != nil)
            #expect(try scene.configDigest(ofCopy: alice.home + "/" + (push.kept ?? "")) == here)
            #expect(try scene.configDigest(ofCopy: scene.profile(alice)) == there)
            return
        }
        guard case .replaced(let kept, let copied, let restored?) = preparation else {
            Issue.record("\(preparation)"); return
        }
        #expect(try scene.keptCopies(alice).map { ".local/share/appattach/" + $0 } == [kept])
        #expect(try scene.configDigest(ofCopy: alice.home + "/" + kept) == here)
        #expect(copied.files == here.count && restored.files == there.count)
        #expect(try scene.digest(scene.layer(alice) + "/config/upper") == there, "the new layer holds the other host's push")
        #expect(try scene.configDigest(ofCopy: scene.profile(alice)) == there)
        #expect(try scene.layerNames(alice) == [pfn], "the old layer is retired and gone")
    }

    @Test("a profile copy rewritten with a new generation behind this host's back is not pushed over")
    func profileRewritten() throws {
        let alice = try scene.user()
        defer { alice.remove() }
        _ = try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn)
        try scene.session("one", in: scene.layer(alice), as: alice)
        _ = try scene.store.push(for: alice.account, packageFamilyName: pfn)
        _ = try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn)
        try scene.session("two", in: scene.layer(alice), as: alice)
        try alice.shell("echo 0123456789abcdef0123456789abcdef > '\(scene.profile(alice))/\(ProfileGeneration.fileName)'"
                        + " && echo elsewhere > '\(scene.profile(alice))/config/elsewhere'")
        let before = try scene.digest(scene.profile(alice))
        let push = try #require(try scene.store.push(for: alice.account, packageFamilyName: pfn))
        #expect(push.kept != nil)
        #expect(try scene.digest(scene.profile(alice)) == before)
        #expect(lstatus(alice.home + "/" + (push.kept ?? "") + "/config/app/two.txt") != nil)
    }

    @Test("a layer from before generations replaces no profile copy: with one it is kept beside it, without one it is pushed")
    func layerWithoutRecords() throws {
        let alice = try scene.user()
        defer { alice.remove() }
        _ = try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn)
        try scene.session("one", files: 10, in: scene.layer(alice), as: alice)
        try alice.shell("rm '\(scene.layer(alice))/\(LayerRecord.originFile)'")
        let first = try #require(try scene.store.push(for: alice.account, packageFamilyName: pfn))
        #expect(first.kept == nil, "no profile copy: nothing to replace")
        let saved = try scene.digest(scene.profile(alice))

        // A half-removed layer as the removal in place of earlier versions left it.
        _ = try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn)
        try alice.shell("rm '\(scene.layer(alice))/\(LayerRecord.originFile)'")
        try scene.removeHalf(of: scene.layer(alice) + "/config/upper", as: alice)
        let push = try #require(try scene.store.push(for: alice.account, packageFamilyName: pfn))
        #expect(push.kept != nil)
        #expect(try scene.digest(scene.profile(alice)) == saved, "the half layer did not win over the good copy")
    }

    @Test("a home without RENAME_EXCHANGE: a swap stopped after the previous copy stepped aside is put back; one stopped after the new copy took its name is finished")
    func swapWithoutExchangeRecovered() throws {
        let alice = try scene.user()
        defer { alice.remove() }
        _ = try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn)
        try scene.session("one", in: scene.layer(alice), as: alice)
        _ = try scene.store.push(for: alice.account, packageFamilyName: pfn)
        let saved = try scene.digest(scene.profile(alice))
        let parent = scene.profileParent(alice)
        // Stopped between the two renames: the previous copy aside, the new one not in place.
        try alice.shell("cp -a '\(scene.profile(alice))' '\(parent)/.\(pfn).new' && echo new > '\(parent)/.\(pfn).new/config/new'"
                        + " && mv '\(scene.profile(alice))' '\(parent)/.\(pfn).old'")
        #expect(try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn) != .existing)
        #expect(try scene.profileNames(alice) == [pfn])
        #expect(try scene.digest(scene.profile(alice)) == saved)
        // Stopped after both: the new copy in place, the previous one still aside.
        try alice.shell("cp -a '\(scene.profile(alice))' '\(parent)/.\(pfn).old' && echo old > '\(parent)/.\(pfn).old/config/old'")
        try scene.session("two", in: scene.layer(alice), as: alice)
        let push = try #require(try scene.store.push(for: alice.account, packageFamilyName: pfn))
        #expect(push.kept == nil)
        #expect(try scene.profileNames(alice) == [pfn])
        #expect(lstatus(scene.profile(alice) + "/config/app/two.txt") != nil && lstatus(scene.profile(alice) + "/config/old") == nil)
    }
}
