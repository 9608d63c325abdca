import AppData
import Foundation
import Testing

@Suite struct AppScopeNameTests {
    static let samples = ["Centennial-Coffee_8wekyb3d8bbwe!App", ".hidden!x", "Café App 1.0"]
    static let systemdEscape = "/usr/bin/systemd-escape"

    @Test func escapesToFixedAnswers() {
        #expect(AppScopeName.escape(Self.samples[0]) == "Centennial\\x2dCoffee_8wekyb3d8bbwe\\x21App")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: systemdEscape), "needs systemd-escape (systemd)"))
    func escapesLikeSystemdEscape() throws {
        for sample in Self.samples {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.systemdEscape)
            process.arguments = ["--", sample]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(AppScopeName.escape(sample) == output.trimmingCharacters(in: .newlines), "\(sample)")
        }
    }

    @Test func scopesOfAPackageShareAPrefix() {
        let name = AppScopeName.make(packageFamilyName: "Demo-App_abc", appId: "Main", random: "1f2e3d4c")
        #expect(name == "app-appattach-Demo\\x2dApp_abc\\x21Main-1f2e3d4c.scope")
        #expect(name.hasPrefix(AppScopeName.prefix(packageFamilyName: "Demo-App_abc")))
        #expect(!name.hasPrefix(AppScopeName.prefix(packageFamilyName: "Demo")))
    }

    @Test func layoutRefusesPathsAsFamilies() throws {
        #expect(throws: AppDataError.self) { try AppDataLayout(uid: 1000, packageFamilyName: "../etc") }
        #expect(throws: AppDataError.self) { try AppDataLayout(uid: 1000, packageFamilyName: "..") }
        let layout = try AppDataLayout(uid: 1000, packageFamilyName: "Demo_abc")
        #expect(layout.layerDirectory == "/var/lib/appattach/users/1000/Demo_abc")
        #expect(layout.upper(.data) == "data/upper")
        #expect(layout.profileRelativePath == ".local/share/appattach/Demo_abc")
    }
}
