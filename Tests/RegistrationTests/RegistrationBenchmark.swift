import Foundation
import Glibc
import LinuxSystem
import MSIX
import Registration
import Testing
import TestSupport

/// Per-user cost of registering ten packages, printed (the product's targets: delayed 10 ms,
/// regular 50 ms per user). Runs as a real test user when root, else as the current account.
@Suite("registration benchmark: ten packages per user (root: users)", .serialized, .tags(.makesUsers))
struct RegistrationBenchmark {
    let fixture = CoffeeFixture.shared

    /// Whether the homes can be made as a real test user.
    static let asTestUser = TestEnvironment.isRoot && TestEnvironment.hasTool("useradd")
    /// Whether there is a tmpfs to make homes on.
    static let hasSharedMemory = access("/dev/shm", W_OK) == 0

    /// Ten distinct packages made from the fixture's manifest, each with its own prepared
    /// integration (prepared once, as staging would, outside the measurement).
    static let packages: [(AppxManifest, PreparedIntegration)] = {
        let fixture = CoffeeFixture.shared
        return (0..<10).map { i in
            var manifest = fixture.manifest
            manifest.identity.name = "CentennialCoffee\(i)"
            var integration = fixture.integration
            integration.packageFamilyName = manifest.identity.familyName
            integration.packageFullName = manifest.identity.fullName
            return (manifest, integration)
        }
    }()

    /// Each round signs in to a fresh home, so that files are created where nothing was
    /// deleted a moment ago: ext4's inode allocator skips recently freed inodes one by one
    /// (`recently_deleted`), which made back-to-back register/deregister loops measure that
    /// scan rather than registration. A real sign-in follows the sign-out by minutes.
    /// Homes on the test directory's file system, and on tmpfs, where no disk allocator is
    /// involved and what remains is appattach's own cost.
    /// The tmpfs case needs a writable /dev/shm; the case on the test directory does not.
    @Test(.enabled(if: hasSharedMemory, "needs a writable /dev/shm"), arguments: ["", "/dev/shm"])
    func tenPackagesPerUser(base: String) async throws {
        try await TestEnvironment.onOwnThread {
            // Below the fixture directory, or a directory of our own on the tmpfs.
            let homes = base.isEmpty ? nil : TestEnvironment.makeTemporaryDirectory("bench-homes", in: base)
            defer { if let homes { try? FileManager.default.removeItem(atPath: homes) } }
            if let homes { chmod(homes, 0o755) }  // reachable by the test user
            let testUser = Self.asTestUser ? try (homes.map { try TestUser(base: $0) } ?? TestUser()) : nil
            defer { testUser?.remove() }
            let scratch = Self.asTestUser ? nil : homes ?? TestEnvironment.makeTemporaryDirectory("home")
            let location = base.isEmpty ? "test directory" : base
            defer { if let scratch { try? FileManager.default.removeItem(atPath: scratch) } }
            let account = testUser?.account ?? CoffeeFixture.currentUser(home: scratch!)
            let files = UserFiles()
            let register = Register(files: files), deregister = Deregister(files: files)
            let families = Self.packages.map { $0.0.identity.familyName }
            let rounds = 5
            for mode in RegistrationMode.allCases {
                // Homes for every round, made by the user (below the real home, which is theirs).
                let homes = try (0..<rounds).map { round -> UserAccount in
                    var user = account
                    user.home = account.home + "/\(mode)-\(round)"
                    try files.perform(as: account) { home in try home.writeFile("\(mode)-\(round)/.keep", []) }
                    return user
                }
                var first: [Duration] = [], again: [Duration] = [], removal: [Duration] = []
                var written = 0
                for user in homes {
                    let plans = Self.packages.map { RegistrationPlan(manifest: $0.0, integration: $0.1, mode: mode, home: user.home) }
                    var start = ContinuousClock.now
                    written = try register.run(plans, for: user).written.count
                    first.append(ContinuousClock.now - start)
                    start = ContinuousClock.now
                    let unchanged = try register.run(plans, for: user)
                    again.append(ContinuousClock.now - start)
                    #expect(unchanged.isEmpty, "\(unchanged)")
                }
                for user in homes {
                    let start = ContinuousClock.now
                    try deregister.run(.packages(families), for: user)
                    removal.append(ContinuousClock.now - start)
                }
                func median(_ d: [Duration]) -> String {
                    let ms = d.map { Double($0.components.attoseconds) / 1e15 + Double($0.components.seconds) * 1000 }.sorted()[d.count / 2]
                    return String(format: "%.2f ms", ms)
                }
                print("registration of 10 packages, \(mode) (\(written) files) as \(account.name) in \(location): first sign-in \(median(first)), "
                      + "again unchanged \(median(again)), deregistration \(median(removal)) (median of \(rounds))")
            }
        }
    }
}
