// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "appattach",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "appattachctl", targets: ["appattachctl"]),
        .executable(name: "appattach-tools", targets: ["appattach-tools"]),
        .executable(name: "appattachd", targets: ["appattachd"]),
        .executable(name: "appattach-bench", targets: ["appattach-bench"]),
        .executable(name: "appattach-launch", targets: ["appattach-launch"]),
        .executable(name: "logind-probe", targets: ["logind-probe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // C libraries, each wrapped once.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib",
                       pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CSystemd", path: "Sources/CSystemd",
                       pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(name: "CACL", path: "Sources/CACL",
                       pkgConfig: "libacl", providers: [.apt(["libacl1-dev"])]),
        .target(name: "CLinuxShims", path: "Sources/CLinuxShims"),

        // System interfaces: syscalls, files, ACLs.
        .target(name: "LinuxSystem", dependencies: ["CLinuxShims", "CACL"]),

        // systemd: sd-notify, the journal (swift-log handler, event catalog), logind over sd-bus.
        .target(name: "Systemd", dependencies: [
            "CSystemd", "CLinuxShims", "LinuxSystem",
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Formats.
        .target(name: "ZipArchive", dependencies: ["CZlib", "LinuxSystem"]),
        .target(name: "MSIX", dependencies: [
            "ZipArchive", "LinuxSystem",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "DiskImage", dependencies: ["LinuxSystem", "CZlib", "CLinuxShims"]),
        // Publisher trust: AppxSignature.p7x's PKCS#7 SignedData, the signer's chain to trust anchors.
        .target(name: "PackageTrust", dependencies: [
            "MSIX", "LinuxSystem",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "X509", package: "swift-certificates"),
        ]),

        // Image building: MSIX package(s) -> filesystem -> VHD/VHDX/EROFS.
        .target(name: "Expand", dependencies: [
            "MSIX", "DiskImage", "LinuxSystem",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),

        // Staging: images on loop devices, mounted read-only; destaging; reconciliation.
        .target(name: "Staging", dependencies: ["DiskImage", "LinuxSystem"]),

        // A host's health: the host-pool entries' policies applied to what failed to stage.
        .target(name: "Health"),
        // Metrics in Prometheus' text format, for node_exporter's textfile collector.
        .target(name: "Metrics"),

        // Configuration: the host's config file, the host-pool files on the share, and who gets
        // which package (NSS).
        .target(name: "HostPool", dependencies: [
            "LinuxSystem", "Health",
            .product(name: "TOMLKit", package: "TOMLKit"),
        ]),

        // Many hosts on one share: each host's report in <share>/hosts/, and the pool's view from them.
        .target(name: "Fleet", dependencies: ["Health", "HostPool", "LinuxSystem"]),

        // The share's image directory and catalog: atomic uploads, safe against concurrent uploaders.
        .target(name: "ShareCatalog", dependencies: [
            "DiskImage", "HostPool", "LinuxSystem", "Fleet",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),

        // The agent's state database (SQLite through GRDB).
        .target(name: "StateStore", dependencies: [
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),

        // Registration: per-user desktop entries, MIME defaults, aliases, autostart; shared icons and MIME XML.
        .target(name: "Registration", dependencies: ["MSIX", "LinuxSystem"]),

        // Per-user, per-package app data: the layer an app's writes land in, the profile copy,
        // the app scopes; restore and push.
        .target(name: "AppData", dependencies: ["LinuxSystem"]),

        // The MSIX container: an app's user and mount namespace with its layer over the user's
        // XDG directories, or the XDG fallback (no libsystemd: appattachctl links it statically).
        .target(name: "Container", dependencies: ["AppData", "LinuxSystem"]),

        // The version of appattach, for every program and the Debian package (scripts/package).
        .target(name: "ProductVersion"),

        // The control socket's messages and client, shared by the agent and the command line.
        .target(name: "ControlProtocol", dependencies: ["LinuxSystem", "Health"]),

        // The root agent: the event loop wiring logind, host pool, staging, registration, state.
        .target(name: "Agent", dependencies: [
            "Systemd", "HostPool", "Staging", "Registration", "AppData", "StateStore", "MSIX", "PackageTrust", "LinuxSystem", "ControlProtocol",
            "ProductVersion", "Health", "Metrics", "Fleet",
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Executables.
        .executableTarget(name: "appattachd", dependencies: [
            "Agent", "HostPool", "Systemd", "ProductVersion",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Shared by the two command-line programs: output options, plain writes, the publishing commands' names.
        .target(name: "CommandSupport", dependencies: [
            "LinuxSystem",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The commands of a session host (stage, destage, status, launch, register, pam-hook, …):
        // no MSIX, XML, TOML or image writing, so that no Foundation start-up runs (see PublishingTools).
        .executableTarget(name: "appattachctl", dependencies: [
            "CommandSupport", "Staging", "LinuxSystem", "ControlProtocol", "Container", "HostPool", "ProductVersion", "Health",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // pack, verify, inspect, expand, upload, hostpool: run as `appattachctl <command>`.
        .executableTarget(name: "appattach-tools", dependencies: [
            "CommandSupport", "MSIX", "PackageTrust", "DiskImage", "Expand", "LinuxSystem", "HostPool", "ShareCatalog", "ProductVersion", "Fleet", "Health",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Starts an app in its scope and container; dynamically linked (libsystemd).
        .executableTarget(name: "appattach-launch", dependencies: ["Container", "AppData", "LinuxSystem", "Systemd"]),
        .executableTarget(name: "appattach-bench", dependencies: [
            "MSIX", "DiskImage", "Expand", "Staging", "AppData", "LinuxSystem", "Container", "PackageTrust", "Agent", "HostPool",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Test helper: the agent's control socket in a process of its own, for tests that change
        // a whole process's limits (AgentTests' descriptor exhaustion).
        .executableTarget(name: "control-socket-probe", dependencies: [
            "Agent", "ControlProtocol",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Test helper: the Systemd module against a real systemd (scripts/test-logind runs it in the test bed).
        .executableTarget(name: "logind-probe", dependencies: [
            "Systemd",
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Tests.
        .testTarget(name: "LinuxSystemTests", dependencies: ["LinuxSystem", "TestSupport"]),
        .testTarget(name: "MSIXTests", dependencies: ["MSIX", "ZipArchive", "TestSupport"]),
        .testTarget(name: "PackageTrustTests", dependencies: ["PackageTrust", "MSIX", "TestSupport"]),
        .testTarget(name: "DiskImageTests", dependencies: ["DiskImage", "TestSupport"]),
        .testTarget(name: "ExpandTests", dependencies: ["Expand", "MSIX", "DiskImage", "LinuxSystem", "TestSupport"]),
        .testTarget(name: "StagingTests", dependencies: ["Staging", "Expand", "DiskImage", "LinuxSystem", "TestSupport"]),
        .testTarget(name: "RegistrationTests", dependencies: ["Registration", "MSIX", "LinuxSystem", "CLinuxShims", "TestSupport"]),
        .testTarget(name: "AppDataTests", dependencies: ["AppData", "LinuxSystem", "TestSupport"]),
        .testTarget(name: "ContainerTests", dependencies: ["Container", "AppData", "LinuxSystem", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport"]),
        .testTarget(name: "SystemdTests", dependencies: [
            "Systemd", "CSystemd",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "HostPoolTests", dependencies: ["HostPool", "Health", "LinuxSystem", "TestSupport"]),
        .testTarget(name: "HealthTests", dependencies: ["Health"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics"]),
        .testTarget(name: "FleetTests", dependencies: ["Fleet", "Health", "HostPool", "TestSupport"]),
        .testTarget(name: "ShareCatalogTests", dependencies: ["ShareCatalog", "DiskImage", "LinuxSystem", "TestSupport"]),
        .testTarget(name: "StateStoreTests", dependencies: [
            "StateStore", "TestSupport", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "AgentTests", dependencies: [
            "Agent", "ControlProtocol", "HostPool", "LinuxSystem", "StateStore", "Systemd", "TestSupport", "Expand", "MSIX", "AppData", "PackageTrust",
            "Health", "Fleet",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "TestSupport", dependencies: ["LinuxSystem"], path: "Tests/TestSupport"),
    ]
)
