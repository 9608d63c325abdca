import Foundation
import Glibc
import LinuxSystem
import Staging
import Systemd
import Testing
import TestSupport
@testable import Agent

/// An image made by another tool, whose package folders lie: one is named after package
/// Honest.App but holds Victim.App's manifest (it would get Honest.App's gate and pool entry,
/// and Victim.App's data layer and `launch Victim.App!App`); one holds a manifest whose app id
/// has a line break (`Exec=` injection into desktop entries). Neither is exposed or
/// registered: the journal and `status` name each with the reason; the honest one is served.
@Suite("package folders must be their manifest's identity (root: loop devices, mounts)", .serialized,
       .tags(.attachesLoopDevices, .mounts),
       .enabled(if: TestEnvironment.hasLoopDevices, "needs root and /dev/loop-control"),
       .enabled(if: TestEnvironment.hasTool("mkfs.erofs"), "needs mkfs.erofs"),
       .enabled(if: TestEnvironment.hasUser("nobody"), "needs the account nobody"))
struct PackageIdentityBindingTests {
    static let publisherID = RegistrationScaleTests.publisherID

    static func fullName(_ name: String) -> String { "\(name)_1.0.0.0_neutral__\(publisherID)" }

    /// A manifest for package `name` whose only app has id `appID`.
    static func manifest(name: String, appID: String) -> String {
        """
        <?xml version="1.0" encoding="utf-8"?>
        <Package xmlns="http://schemas.microsoft.com/appx/manifest/foundation/windows10" xmlns:uap="http://schemas.microsoft.com/appx/manifest/uap/windows10">
          <Identity Name="\(name)" Publisher="CN=awesomepublisher" Version="1.0.0.0"/>
          <Properties><DisplayName>\(name)</DisplayName><PublisherDisplayName>P</PublisherDisplayName><Logo>logo.png</Logo></Properties>
          <Dependencies><TargetDeviceFamily Name="Linux.All" MinVersion="0.0.0.0" MaxVersionTested="0.0.0.0"/></Dependencies>
          <Applications>
            <Application Id="\(appID)" Executable="bin/app">
              <uap:VisualElements DisplayName="\(name)" Description="d" BackgroundColor="white" Square150x150Logo="a.png" Square44x44Logo="b.png"/>
            </Application>
          </Applications>
        </Package>
        """
    }

    @Test("a folder named for another package and a manifest with a newline in an app id: neither exposed nor registered, both journaled and in status; the honest package is served")
    func lyingFoldersAreRefused() async throws {
        do {
            let scene = try StartupScene()
            let tree = scene.dir + "/scratch/tree/apps"
            let folders = [
                (Self.fullName("Honest.App"), Self.manifest(name: "Victim.App", appID: "App")),
                (Self.fullName("Newline.App"), Self.manifest(name: "Newline.App", appID: "A&#10;Exec=/usr/bin/touch /tmp/pwned")),
                (Self.fullName("Plain.App"), Self.manifest(name: "Plain.App", appID: "App")),
            ]
            for (folder, text) in folders {
                try FileManager.default.createDirectory(atPath: tree + "/" + folder, withIntermediateDirectories: true)
                try text.write(toFile: tree + "/" + folder + "/AppxManifest.xml", atomically: false, encoding: .utf8)
            }
            try ExternalCommand("mkfs.erofs", ["--quiet", scene.dir + "/share/images/mixed.erofs", scene.dir + "/scratch/tree"]).run()
            var pool = ""
            for name in ["Honest.App", "Newline.App", "Plain.App", "Victim.App"] {
                pool += "[[package]]\nimage = \"images/mixed.erofs\"\nname = \"\(name)_\(Self.publisherID)\"\nusers = [\"nobody\"]\n\n"
            }
            try pool.write(toFile: scene.dir + "/share/hostpools/pool1.toml", atomically: true, encoding: .utf8)

            let log = CapturedLog()
            let core = try AgentCore.open(settings: scene.settings, logger: log.logger).core
            _ = try await TestEnvironment.onOwnThread { core.refreshHostPool() }

            // Only the honest package is staged; the others are not even mounted.
            #expect(Set(core.stager.packages.keys) == [Self.fullName("Plain.App")])
            let paths = scene.settings.stagingPaths
            for name in ["Honest.App", "Newline.App"] {
                #expect(!Mount.isMountPoint(paths.packageMountPoint(Self.fullName(name))), "\(name) is not mounted")
                #expect(access(paths.packageLink(Self.fullName(name)), F_OK) != 0, "\(name) is not published")
            }
            #expect(Mount.isMountPoint(paths.packageMountPoint(Self.fullName("Plain.App"))))

            // Each refusal journaled once, with its reason and its own MESSAGE_ID.
            let events = log.events(.packageRefused)
            #expect(events.count == 2, "\(events.map(\.message))")
            let honest = events.first { $0.message.contains(Self.fullName("Honest.App")) }?.message ?? ""
            #expect(honest.contains("its manifest is package \(Self.fullName("Victim.App"))"), "\(honest)")
            let newline = events.first { $0.message.contains(Self.fullName("Newline.App")) }?.message ?? ""
            #expect(newline.contains("Id \"A\\nExec=/usr/bin/touch /tmp/pwned\""), "\(newline)")
            #expect(!newline.contains("\n"), "one line: \(newline)")

            // status names both, for root.
            let status = core.status(for: 0)
            let refused = status.refusedPackages ?? []
            #expect(refused.map(\.fullName) == [Self.fullName("Honest.App"), Self.fullName("Newline.App")], "\(refused)")
            #expect(status.packages.map(\.fullName) == [Self.fullName("Plain.App")])

            // Registration for nobody: the honest package only; Victim.App's entry finds nothing.
            let nobody = try #require(try Accounts.account(named: "nobody"))
            let work = try await core.planRegistration(nobody, session: nil)
            #expect(work.plans.map(\.packageFullName) == [Self.fullName("Plain.App")], "\(work.plans.map(\.packageFullName))")
        }
    }
}
