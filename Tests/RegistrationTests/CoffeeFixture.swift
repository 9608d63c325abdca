import Foundation
import Glibc
import LinuxSystem
import MSIX
import Registration
import TestSupport

/// CentennialCoffee.appx, which has every extension kind, unpacked once per test run into a
/// temporary directory that stands in for a staged package, with its integration prepared.
final class CoffeeFixture: Sendable {
    static let shared = CoffeeFixture()

    /// The family name, as the package's own VFS paths spell it: a check independent of ours.
    static let familyName = "CentennialCoffee_8wekyb3d8bbwe"
    static let fullName = "CentennialCoffee_1.1.0.0_neutral__8wekyb3d8bbwe"

    let root: String
    let packageDir: String
    let sharedDir: String
    let manifest: AppxManifest
    let integration: PreparedIntegration

    private init() {
        root = TestEnvironment.makeTemporaryDirectory("registration")
        // Test users must be able to reach homes made below this directory.
        chmod(root, 0o755)
        packageDir = root + "/packages/" + Self.fullName
        sharedDir = root + "/integration/" + Self.fullName
        try! FileManager.default.createDirectory(atPath: root + "/packages", withIntermediateDirectories: true)
        let package = try! MSIXPackage.open(TestEnvironment.msixFixtures + "/CentennialCoffee.appx")
        _ = try! package.unpack(into: packageDir)
        manifest = package.manifest
        integration = try! PackageIntegration.prepare(packageDir: packageDir, into: sharedDir, mimeTypes: .system())
        CoffeeFixture.cleanupPath = root
        atexit { if let path = CoffeeFixture.cleanupPath { try? FileManager.default.removeItem(atPath: path) } }
    }

    nonisolated(unsafe) static var cleanupPath: String?

    func plan(_ mode: RegistrationMode, home: String = "/home/test", manifest: AppxManifest? = nil,
              integration: PreparedIntegration? = nil) -> RegistrationPlan {
        RegistrationPlan(manifest: manifest ?? self.manifest, integration: integration ?? self.integration, mode: mode, home: home)
    }

    /// The file of `plan` whose path ends with `suffix`.
    static func file(_ plan: RegistrationPlan, _ suffix: String) -> PlannedFile? {
        plan.files.first { $0.path.hasSuffix(suffix) }
    }

    /// The current account with its home moved to `home`: for running `UserFiles` jobs
    /// without switching ids.
    static func currentUser(home: String) -> UserAccount {
        var user = try! Accounts.account(id: geteuid())!
        user.home = home
        return user
    }
}

extension TestUser {
    /// A test user with a home below the fixture directory.
    convenience init() throws { try self.init(base: CoffeeFixture.shared.root + "/home") }
}
