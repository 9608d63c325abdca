import AppData
import Foundation
import Testing

@Suite struct AppScopeNameTests {
    @Test func escapesLikeSystemdEscape() throws {
        let samples = ["Centennial-Coffee_8wekyb3d8bbwe!App", ".hidden!x", "Café App 1.0"]
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-escape") else {
            print("skipped: systemd-escape is not installed; checking fixed answers only")
            #expect(AppScopeName.escape(samples[0]) == "Centennial\\x2dCoffee_8wekyb3d8bbwe\\x21App")
            return
        }
        for sample in samples {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-escape")
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
