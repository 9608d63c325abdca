import AppData
import Foundation
import Glibc
import Testing

/// `AppScopes` on a real cgroup2 tree: scopes laid out as a user manager lays them out, under a
/// throwaway cgroup of the test's own, with a real process moved into one of them.
@Suite(.serialized) struct AppScopesTests {
    /// Where cgroup2 is mounted and writable (unified or hybrid hierarchy); nil when not root.
    static let cgroup2Root: String? = {
        guard getuid() == 0 else { return nil }
        for root in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        where access(root + "/cgroup.procs", W_OK) == 0 && FileManager.default.fileExists(atPath: root + "/cgroup.controllers") {
            return root
        }
        return nil
    }()

    @Test("a scope counts while it holds a process; cgroup.kill ends it; other packages' and empty scopes do not count")
    func runningAndKilled() throws {
        guard let cgroup2 = Self.cgroup2Root else {
            print("skipped: needs root and a writable cgroup2 hierarchy")
            return
        }
        let root = "\(cgroup2)/appattach-test-\(getpid())"
        let uid: UInt32 = 4242
        let slice = AppScopeName.appSliceDirectory(uid: uid, cgroupRoot: root)
        let family = "Demo-App_abc", other = "Other_abc"
        let busy = slice + "/" + AppScopeName.make(packageFamilyName: family, appId: "Main", random: "00000001")
        let idle = slice + "/" + AppScopeName.make(packageFamilyName: family, appId: "Main", random: "00000002")
        let foreign = slice + "/" + AppScopeName.make(packageFamilyName: other, appId: "Main", random: "00000003")
        let child = Process()
        defer {
            if child.isRunning { kill(child.processIdentifier, SIGKILL); child.waitUntilExit() }
            // Leaves first: a cgroup directory goes only when it has no children and no process.
            for dir in [busy, idle, foreign, slice, (slice as NSString).deletingLastPathComponent,
                        ((slice as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent,
                        (((slice as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent,
                        root] {
                rmdir(dir)
            }
        }
        for dir in [busy, idle, foreign] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        let scopes = AppScopes(cgroupRoot: root)
        #expect(scopes.running(uid: uid, packageFamilyName: family).isEmpty, "no process yet")

        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["600"]
        try child.run()
        try "\(child.processIdentifier)\n".write(toFile: busy + "/cgroup.procs", atomically: false, encoding: .utf8)
        #expect(scopes.running(uid: uid, packageFamilyName: family) == [busy])
        #expect(scopes.running(uid: uid, packageFamilyName: other).isEmpty)
        #expect(scopes.running(uid: uid + 1, packageFamilyName: family).isEmpty, "another user's manager is not there")

        guard FileManager.default.fileExists(atPath: busy + "/cgroup.kill") else {
            print("skipped the stop: no cgroup.kill (Linux before 5.14)")
            return
        }
        try scopes.kill(busy)
        child.waitUntilExit()
        #expect(child.terminationReason == .uncaughtSignal && child.terminationStatus == SIGKILL)
        // The kernel updates cgroup.events once the process is reaped.
        var left = scopes.running(uid: uid, packageFamilyName: family)
        for _ in 0..<50 where !left.isEmpty {
            usleep(10_000)
            left = scopes.running(uid: uid, packageFamilyName: family)
        }
        #expect(left.isEmpty)
        try scopes.kill(slice + "/app-appattach-gone.scope")  // gone already: not an error
    }
}
