import AppData
import Foundation
import Glibc
import Testing
import TestSupport

/// What this host's cgroup2 tree allows, probed once.
enum Cgroup2 {
    /// Where cgroup2 is mounted and writable (unified or hybrid hierarchy); nil when not root.
    static let root: String? = {
        guard getuid() == 0 else { return nil }
        for root in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        where access(root + "/cgroup.procs", W_OK) == 0 && FileManager.default.fileExists(atPath: root + "/cgroup.controllers") {
            return root
        }
        return nil
    }()

    /// True when cgroups have `cgroup.kill` (Linux 5.14).
    static let hasKill = TestEnvironment.kernelAtLeast(5, 14)
}

/// `AppScopes` on a real cgroup2 tree: scopes laid out as a user manager lays them out, under a
/// throwaway cgroup of the test's own, with a real process moved into one of them.
@Suite("app scopes on a real cgroup2 tree (root: cgroups)", .serialized, .tags(.makesCgroups),
       .enabled(if: Cgroup2.root != nil, "needs root and a writable cgroup2 hierarchy"))
struct AppScopesTests {
    static let uid: UInt32 = 4242
    static let family = "Demo-App_abc", other = "Other_abc"

    /// A user's app slice with three scopes below `appattach-test-<pid>` in the cgroup2 tree,
    /// and a process (`sleep`) in `busy`; `deinit` ends the process and removes the cgroups.
    final class ScratchScopes {
        let root: String
        let slice: String
        let busy: String, idle: String, foreign: String
        let child = Process()

        init(cgroup2: String) throws {
            root = "\(cgroup2)/appattach-test-\(getpid())"
            slice = AppScopeName.appSliceDirectory(uid: AppScopesTests.uid, cgroupRoot: root)
            busy = slice + "/" + AppScopeName.make(packageFamilyName: AppScopesTests.family, appId: "Main", random: "00000001")
            idle = slice + "/" + AppScopeName.make(packageFamilyName: AppScopesTests.family, appId: "Main", random: "00000002")
            foreign = slice + "/" + AppScopeName.make(packageFamilyName: AppScopesTests.other, appId: "Main", random: "00000003")
            for dir in [busy, idle, foreign] {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            }
        }

        /// Starts the process and moves it into `busy`.
        func startProcess() throws {
            child.executableURL = URL(fileURLWithPath: "/bin/sleep")
            child.arguments = ["600"]
            try child.run()
            try "\(child.processIdentifier)\n".write(toFile: busy + "/cgroup.procs", atomically: false, encoding: .utf8)
        }

        deinit {
            if child.isRunning { kill(child.processIdentifier, SIGKILL); child.waitUntilExit() }
            // Leaves first: a cgroup directory goes only when it has no children and no process.
            var dirs = [busy, idle, foreign]
            var dir = slice
            while dir.hasPrefix(root) {
                dirs.append(dir)
                dir = (dir as NSString).deletingLastPathComponent
            }
            for dir in dirs { rmdir(dir) }
        }
    }

    @Test("a scope counts while it holds a process; other packages' and empty scopes do not count")
    func running() throws {
        let scratch = try ScratchScopes(cgroup2: try #require(Cgroup2.root))
        let scopes = AppScopes(cgroupRoot: scratch.root)
        #expect(scopes.running(uid: Self.uid, packageFamilyName: Self.family).isEmpty, "no process yet")
        try scratch.startProcess()
        #expect(scopes.running(uid: Self.uid, packageFamilyName: Self.family) == [scratch.busy])
        #expect(scopes.running(uid: Self.uid, packageFamilyName: Self.other).isEmpty)
        #expect(scopes.running(uid: Self.uid + 1, packageFamilyName: Self.family).isEmpty, "another user's manager is not there")
    }

    @Test("cgroup.kill ends a scope's processes; a scope gone already is not an error",
          .enabled(if: Cgroup2.hasKill, "needs cgroup.kill (Linux 5.14)"))
    func killed() throws {
        let scratch = try ScratchScopes(cgroup2: try #require(Cgroup2.root))
        let scopes = AppScopes(cgroupRoot: scratch.root)
        try scratch.startProcess()
        #expect(scopes.running(uid: Self.uid, packageFamilyName: Self.family) == [scratch.busy])
        try #require(FileManager.default.fileExists(atPath: scratch.busy + "/cgroup.kill"))
        try scopes.kill(scratch.busy)
        scratch.child.waitUntilExit()
        #expect(scratch.child.terminationReason == .uncaughtSignal && scratch.child.terminationStatus == SIGKILL)
        // The kernel updates cgroup.events once the process is reaped.
        var left = scopes.running(uid: Self.uid, packageFamilyName: Self.family)
        for _ in 0..<50 where !left.isEmpty {
            usleep(10_000)
            left = scopes.running(uid: Self.uid, packageFamilyName: Self.family)
        }
        #expect(left.isEmpty)
        try scopes.kill(scratch.slice + "/app-appattach-gone.scope")  // gone already: not an error
    }
}
