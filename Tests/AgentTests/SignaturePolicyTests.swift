import Foundation
import Glibc
import HostPool
import LinuxSystem
import MSIX
import PackageTrust
import Staging
import Testing
import TestSupport
@testable import Agent

/// The host's signature policy at staging: a package signed by a trusted publisher is served; an
/// unsigned one (under `required`) and one whose file was changed after signing are not
/// exposed, each journaled and in status with the reason; the verdicts are remembered for the
/// image, so a restarted agent does not hash the package again.
@Suite("signature policy at staging (root: loop devices, mounts)", .serialized, .tags(.attachesLoopDevices, .mounts),
       .enabled(if: TestEnvironment.hasLoopDevices, "needs root and /dev/loop-control"),
       .enabled(if: TestEnvironment.hasTool("mkfs.erofs"), "needs mkfs.erofs"),
       .enabled(if: TestEnvironment.hasTool("openssl"), "needs openssl for the test CA"))
struct SignaturePolicyTests {
    static let publisherID = "s7d21py8hx46g"  // of CN=awesomepublisher
    static func fullName(_ name: String) -> String { "\(name)_1.0.0.0_neutral__\(publisherID)" }

    /// A small app packed and signed by `pack --sign` as `name`.
    static func signedPackage(_ name: String, in dir: String, signer: (certificate: String, key: String)) throws -> String {
        let app = dir + "/" + name
        try FileManager.default.createDirectory(atPath: app + "/bin", withIntermediateDirectories: true)
        try "#!/bin/sh\necho \(name)\n".write(toFile: app + "/bin/app", atomically: true, encoding: .utf8)
        try String(repeating: "data of \(name) ", count: 10_000).write(toFile: app + "/bin/data.txt", atomically: true, encoding: .utf8)
        try """
            <?xml version="1.0" encoding="utf-8"?>
            <Package xmlns="http://schemas.microsoft.com/appx/manifest/foundation/windows10" xmlns:uap="http://schemas.microsoft.com/appx/manifest/uap/windows10">
              <Identity Name="\(name)" Publisher="CN=awesomepublisher" Version="1.0.0.0"/>
              <Properties><DisplayName>\(name)</DisplayName><PublisherDisplayName>P</PublisherDisplayName><Logo>bin/app</Logo></Properties>
              <Dependencies><TargetDeviceFamily Name="Linux.All" MinVersion="0.0.0.0" MaxVersionTested="0.0.0.0"/></Dependencies>
              <Applications><Application Id="App" Executable="bin/app"><uap:VisualElements DisplayName="\(name)" Description="d"/></Application></Applications>
            </Package>
            """.write(toFile: app + "/AppxManifest.xml", atomically: true, encoding: .utf8)
        var options = PackOptions()
        options.signer = try PackageSigner(keyFile: signer.key, certificateFile: signer.certificate)
        try PackagePacker.pack(directory: app, output: app + ".msix", options: options)
        return app + ".msix"
    }

    /// The scene's images: app.vhdx (TestLinux.msix, unsigned), signed.vhdx, and tampered.erofs
    /// (a signed package unpacked, one byte of a file changed, made into an image by hand).
    static func images(_ scene: StartupScene, _ ca: TestCA) throws {
        let signer = try ca.issue("leaf", subject: "/CN=awesomepublisher")
        let signed = try signedPackage("Signed.Hello", in: scene.dir + "/pkgs", signer: signer)
        let made = try TestEnvironment.run([StartupScene.binary, "expand", signed, "-o", scene.dir + "/share/images/signed.vhdx", "--root-directory", "apps"])
        guard made.status == 0 else { throw TestFailure("expand: \(made.output)") }
        let other = try signedPackage("Signed.Other", in: scene.dir + "/pkgs", signer: signer)
        let folder = scene.dir + "/tampered/apps/" + fullName("Signed.Other")
        try FileManager.default.createDirectory(atPath: scene.dir + "/tampered/apps", withIntermediateDirectories: true)
        _ = try MSIXPackage.open(other).unpack(into: folder)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/bin/data.txt")))
        bytes[100] ^= 0x20
        try Data(bytes).write(to: URL(fileURLWithPath: folder + "/bin/data.txt"))
        try ExternalCommand("mkfs.erofs", ["--quiet", scene.dir + "/share/images/tampered.erofs", scene.dir + "/tampered"]).run()
        var pool = ""
        for (image, name) in [("app.vhdx", "BestAppExtension"), ("signed.vhdx", "Signed.Hello"), ("tampered.erofs", "Signed.Other")] {
            pool += "[[package]]\nimage = \"images/\(image)\"\nname = \"\(name)_\(publisherID)\"\nusers = [\"nobody\"]\n\n"
        }
        try pool.write(toFile: scene.dir + "/share/hostpools/pool1.toml", atomically: true, encoding: .utf8)
    }

    static func settings(_ scene: StartupScene, _ policy: HostConfig.SignaturePolicy, _ ca: TestCA) -> AgentSettings {
        var config = scene.settings.config
        config.signaturePolicy = policy
        config.trustedPublishers = ca.anchors
        return AgentSettings(config: config, configPath: scene.settings.configPath)
    }

    @Test("signature = required: the signed package is served; the unsigned and the tampered ones are refused with the reason, in the journal and status; a restarted agent remembers the verdicts")
    func required() async throws {
        let scene = try StartupScene()
        // Keys, packing, expanding, mkfs: blocking work, kept off the shared pool.
        let ca = try await TestEnvironment.onOwnThread { try TestCA() }
        try await TestEnvironment.onOwnThread { try Self.images(scene, ca) }
        let settings = Self.settings(scene, .required, ca)
        let log = CapturedLog()
        let core = try AgentCore.open(settings: settings, logger: log.logger).core
        // Staging checks signatures (hashing, a chain): blocking work, kept off the shared pool.
        _ = try await TestEnvironment.onOwnThread { core.refreshHostPool() }
        #expect(Set(core.stager.packages.keys) == [Self.fullName("Signed.Hello")])
        let refused = Dictionary(uniqueKeysWithValues: (core.status(for: 0).refusedPackages ?? []).map { ($0.fullName, $0.reason) })
        #expect(refused[StartupScene.fullName]?.contains("not signed, and this host requires signed packages") == true, "\(refused)")
        #expect(refused[Self.fullName("Signed.Other")]?.contains("block 1 of bin/data.txt does not match") == true, "\(refused)")
        #expect(log.events(.packageRefused).count == 2)
        for name in [StartupScene.fullName, Self.fullName("Signed.Other")] {
            #expect(!Mount.isMountPoint(settings.stagingPaths.packageMountPoint(name)), "\(name) not mounted")
        }

        // The verdicts are kept per image: a restarted agent takes the staged images over and
        // does not check them again.
        let verdicts = try DirectoryListing.names(settings.stagingPaths.runtime + "/signatures")
        #expect(verdicts.count == 3, "\(verdicts)")
        let restarted = try AgentCore.open(settings: settings, logger: CapturedLog().logger).core
        let started = ContinuousClock.now
        _ = try await TestEnvironment.onOwnThread { restarted.refreshHostPool() }
        print("restart with the verdicts remembered: \(ContinuousClock.now - started)")
        #expect(Set(restarted.stager.packages.keys) == [Self.fullName("Signed.Hello")])
    }

    @Test("signature = optional: the unsigned package is served too; the tampered one is still refused")
    func optional() async throws {
        let scene = try StartupScene()
        let ca = try await TestEnvironment.onOwnThread { try TestCA() }
        try await TestEnvironment.onOwnThread { try Self.images(scene, ca) }
        let core = try AgentCore.open(settings: Self.settings(scene, .optional, ca), logger: CapturedLog().logger).core
        _ = try await TestEnvironment.onOwnThread { core.refreshHostPool() }
        #expect(Set(core.stager.packages.keys) == [StartupScene.fullName, Self.fullName("Signed.Hello")])
        #expect((core.status(for: 0).refusedPackages ?? []).map(\.fullName) == [Self.fullName("Signed.Other")])
    }
}
