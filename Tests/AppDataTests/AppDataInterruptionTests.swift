@testable import AppData
import Foundation
import Glibc
import LinuxSystem
import Testing
import TestSupport

/// Pushes stopped at each point where the agent could die (watchdog, SIGKILL, power cut), with
/// the layer then damaged as a removal cut short would leave it: the next sign-in and sign-out
/// never leave the profile copy holding less than it held, and never put a partial layer over it.
@Suite("app data pushes cut short (root: users, mounts)", .serialized, .tags(.makesUsers, .mounts),
       .enabled(if: AppDataHost.canMakeUsers, "needs root, useradd, setpriv, python3 and setfattr/getfattr (attr) to make test users"))
final class AppDataInterruptionTests {
    let scene = AppDataScene("appdata-interrupted")
    var pfn: String { scene.pfn }

    /// A first session pushed (41 files of "one"), a second session's layer restored from it
    /// with 11 files of "two" more. Returns the digest of the profile copy's whole tree
    /// (generation included) and of its config after the first push.
    func twoSessions(_ alice: TestUser) throws -> (whole: [String: String], config: [String: String]) {
        _ = try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn)
        try scene.session("one", files: 40, in: scene.layer(alice), as: alice)
        _ = try scene.store.push(for: alice.account, packageFamilyName: pfn)
        let first = (try scene.digest(scene.profile(alice)), try scene.configDigest(ofCopy: scene.profile(alice)))
        _ = try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn)
        try scene.session("two", files: 10, in: scene.layer(alice), as: alice)
        return first
    }

    /// Runs a push that stops at `point`; it must fail saying so.
    func pushCut(at point: AppDataStore.Interruption, _ alice: TestUser) {
        do {
            _ = try scene.cut(at: point).push(for: alice.account, packageFamilyName: pfn)
            Issue.record("the push was not cut at \(point.rawValue)")
        } catch {
            #expect("\(error)".contains("interrupted at \(point.rawValue)"), "\(error)")
        }
    }

    /// Every file of `older` is in `newer` with the same contents.
    func holdsAll(_ newer: [String: String], _ older: [String: String]) -> Bool {
        older.allSatisfy { newer[$0.key] == $0.value }
    }

    @Test("stopped after the new copy was synced, before the swap: the profile holds the previous copy whole; the next sign-in keeps the layer (this host's newer data) and its sign-out pushes it",
          arguments: [false, true])
    func cutAfterSync(signInFirst: Bool) throws {
        let alice = try scene.user()
        defer { alice.remove() }
        let first = try twoSessions(alice)
        let layerData = try scene.digest(scene.layer(alice) + "/config/upper")
        pushCut(at: .pushSynced, alice)
        #expect(try scene.digest(scene.profile(alice)) == first.whole, "the previous copy, whole")
        #expect(try scene.digest(scene.layer(alice) + "/config/upper") == layerData, "the layer as it was")
        if signInFirst {
            #expect(try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn) == .existing)
            #expect(try scene.profileNames(alice) == [pfn], "the unfinished copy is removed")
        }
        let push = try #require(try scene.store.push(for: alice.account, packageFamilyName: pfn))
        #expect(push.kept == nil && push.replacedPrevious)
        let pushed = try scene.configDigest(ofCopy: scene.profile(alice))
        #expect(holdsAll(pushed, first.config) && pushed.count == first.config.count + 11, "\(pushed.count)")
        #expect(try scene.profileNames(alice) == [pfn])
        #expect(try scene.layerNames(alice).isEmpty)
    }

    @Test("stopped after the swap, then the layer half removed in place: the half layer is never used nor pushed; the profile keeps the new copy",
          arguments: [false, true])
    func cutAfterSwap(signInFirst: Bool) throws {
        let alice = try scene.user()
        defer { alice.remove() }
        let first = try twoSessions(alice)
        pushCut(at: .pushSwapped, alice)
        let second = try scene.configDigest(ofCopy: scene.profile(alice))
        #expect(holdsAll(second, first.config) && second.count == first.config.count + 11)
        // As the removal in place of earlier versions, killed halfway, would have left it.
        try scene.removeHalf(of: scene.layer(alice) + "/config/upper", as: alice)
        if signInFirst {
            guard case .made(let restored?) = try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn) else {
                Issue.record("the pushed layer was used instead of a new one"); return
            }
            #expect(restored.files == 52)
            #expect(try scene.digest(scene.layer(alice) + "/config/upper") == second)
            #expect(try scene.configDigest(ofCopy: scene.profile(alice)) == second)
            #expect(try scene.store.push(for: alice.account, packageFamilyName: pfn)?.kept == nil)
        } else {
            #expect(try scene.store.push(for: alice.account, packageFamilyName: pfn) == nil, "already pushed: only retired")
        }
        let after = try scene.configDigest(ofCopy: scene.profile(alice))
        #expect(holdsAll(after, second) && after.count == second.count)
        #expect(try scene.profileNames(alice) == [pfn])
        #expect(try scene.layerNames(alice).isEmpty)
    }

    @Test("stopped after the layer's retirement rename, then half removed: nothing has the family's name; the leftover goes at the next sign-in or sign-out",
          arguments: [false, true])
    func cutAfterRetirement(signInFirst: Bool) throws {
        let alice = try scene.user()
        defer { alice.remove() }
        _ = try twoSessions(alice)
        pushCut(at: .layerRetired, alice)
        let second = try scene.digest(scene.profile(alice))
        #expect(try scene.configDigest(ofCopy: scene.profile(alice)).count == 52)
        #expect(lstatus(scene.layer(alice)) == nil, "no layer under the family's name")
        let retired = try scene.layerNames(alice)
        #expect(retired.count == 1 && retired.first?.hasPrefix(".\(pfn).retired-") == true, "\(retired)")
        try scene.removeHalf(of: "\(scene.store.usersDirectory)/\(alice.account.uid)/\(retired.first ?? "-")", as: alice)
        if signInFirst {
            guard case .made(let restored?) = try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn) else {
                Issue.record("no new layer"); return
            }
            #expect(restored.files == 52)
            #expect(try scene.layerNames(alice) == [pfn])
        } else {
            #expect(try scene.store.push(for: alice.account, packageFamilyName: pfn) == nil)
            #expect(try scene.layerNames(alice).isEmpty)
        }
        #expect(try scene.digest(scene.profile(alice)) == second)
    }

    @Test("a kept copy cut short before the layer's retirement is not kept twice")
    func keptOnce() throws {
        let alice = try scene.user()
        defer { alice.remove() }
        _ = try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn)
        _ = try scene.otherHost.prepareLayer(for: alice.account, packageFamilyName: pfn)
        try scene.session("there", in: scene.layer(alice, host: scene.otherHost), as: alice)
        _ = try scene.otherHost.push(for: alice.account, packageFamilyName: pfn)
        try scene.session("here", in: scene.layer(alice), as: alice)
        pushCut(at: .layerRetired, alice)
        #expect(try scene.keptCopies(alice).count == 1)
        // The retirement's rename was made; what if it had not been: put it back and retry.
        let retired = try #require(try scene.layerNames(alice).first)
        try alice.shell("mv '\(scene.store.usersDirectory)/\(alice.account.uid)/\(retired)' '\(scene.layer(alice))'")
        #expect(try scene.store.push(for: alice.account, packageFamilyName: pfn) == nil, "kept already: only retired")
        #expect(try scene.keptCopies(alice).count == 1)
        #expect(try scene.layerNames(alice).isEmpty)
        #expect(lstatus(scene.profile(alice) + "/config/app/there.txt") != nil && lstatus(scene.profile(alice) + "/config/app/here.txt") == nil)
    }

    @Test("a layer that cannot be removed yet (something mounted in it, as files an app still holds) is retired all the same: the push succeeds and names the leftover, the next sign-in removes it")
    func removalRefused() throws {
        let alice = try scene.user()
        defer { alice.remove() }
        defer { scene.unmountAll() }
        _ = try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn)
        try scene.session("one", in: scene.layer(alice), as: alice)
        let busy = scene.layer(alice) + "/config/upper/app/busy"
        try alice.shell("mkdir '\(busy)'")
        #expect(try TestEnvironment.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", busy]).status == 0)
        let push = try #require(try scene.store.push(for: alice.account, packageFamilyName: pfn))
        #expect(push.kept == nil)
        #expect(push.leftovers.count == 1 && push.leftovers.first?.contains(".\(pfn).retired-") == true, "\(push.leftovers)")
        #expect(lstatus(scene.layer(alice)) == nil, "retired though not removed")
        #expect(try String(contentsOfFile: scene.profile(alice) + "/config/app/one.txt", encoding: .utf8) == "one\n")
        let stayed = scene.unmountAll()
        #expect(stayed.isEmpty, "mounts that stayed: \(stayed)")
        guard case .made(let restored?) = try scene.store.prepareLayer(for: alice.account, packageFamilyName: pfn) else {
            Issue.record("no new layer"); return
        }
        #expect(restored.files == 2)
        #expect(try scene.layerNames(alice) == [pfn], "the leftover is gone")
    }
}
