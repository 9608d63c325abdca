import Foundation
import MSIX
import Registration
import Testing
import TestSupport

/// Every desktop entry registration writes, checked by desktop-file-utils' own validator
/// (what distributions run on the entries they ship), not by our reading of the spec.
@Suite struct DesktopEntryValidationTests {
    static let hasValidator = TestEnvironment.hasTool("desktop-file-validate")

    /// `desktop-file-validate`'s verdict on `files`, each written under its own name (the
    /// validator checks the name too): its output, empty when every entry is clean.
    static func validate(_ files: [PlannedFile]) throws -> String {
        let dir = TestEnvironment.makeTemporaryDirectory("desktop-entries")
        defer { TestEnvironment.removeTemporaryDirectory(dir) }
        var paths: [String] = []
        for (index, file) in files.enumerated() {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(index)", withIntermediateDirectories: true)
            let path = "\(dir)/\(index)/\(file.name)"
            try Data(file.contents).write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        let result = try TestEnvironment.run(["desktop-file-validate"] + paths)
        return result.status == 0 ? result.output.trimmingCharacters(in: .whitespacesAndNewlines) : "exit \(result.status): \(result.output)"
    }

    @Test("desktop-file-validate passes every menu and autostart entry of every fixture package, delayed and regular, without a warning",
          .enabled(if: hasValidator, "needs desktop-file-validate (desktop-file-utils)"))
    func everyEntryValidates() throws {
        let dir = TestEnvironment.makeTemporaryDirectory("fixtures")
        defer { TestEnvironment.removeTemporaryDirectory(dir) }
        let fixtures = try FileManager.default.contentsOfDirectory(atPath: TestEnvironment.msixFixtures)
            .filter { $0.hasSuffix(".appx") || $0.hasSuffix(".msix") }.sorted()
        var checked = 0, autostart = 0
        for name in fixtures {
            guard let package = try? MSIXPackage.open(TestEnvironment.msixFixtures + "/" + name) else { continue }
            let packageDir = dir + "/" + name
            _ = try package.unpack(into: packageDir)
            let integration = try PackageIntegration.prepare(packageDir: packageDir, into: dir + "/shared-" + name)
            for mode in RegistrationMode.allCases {
                let plan = RegistrationPlan(manifest: package.manifest, integration: integration, mode: mode, home: "/home/test")
                let entries = plan.files.filter { $0.name.hasSuffix(".desktop") }
                guard !entries.isEmpty else { continue }
                let verdict = try Self.validate(entries)
                #expect(verdict == "", "\(name) (\(mode)): \(verdict)")
                checked += entries.count
                autostart += entries.filter { $0.path.hasPrefix(RegistrationLayout.autostart) }.count
            }
        }
        print("desktop-file-validate: \(checked) entries of \(fixtures.count) fixture packages, \(autostart) of them autostart entries")
        #expect(checked >= 10 && autostart >= 1)
    }
}
