import ArgumentParser
import CommandSupport
import Foundation
import Health
import HostPool
import ShareCatalog

extension RegistrationMode: ExpressibleByArgument {}
extension HealthPolicy: ExpressibleByArgument {}

/// What every command that changes a pool's file takes: the share and the pool.
struct PoolOnShare: ParsableArguments {
    @Argument(help: ArgumentHelp("The host pool's name (its file is <share>/hostpools/<pool>.toml).", valueName: "pool"))
    var pool: String

    @Option(help: ArgumentHelp("Where the share is mounted.", valueName: "path"))
    var share: String

    var files: HostPoolFiles { HostPoolFiles(share: ShareLayout(root: share), owner: ImageUpload.hostName()) }

    /// Runs `change` on the pool's file and prints what the file says now about `package`.
    func edit(create: Bool = false, verb: String, package: String? = nil, _ change: (inout HostPoolEditor) throws -> Void) throws {
        let (_, editor) = try files.edit(pool: pool, create: create, change)
        let shown = editor.definition.packages.filter { entry in
            guard let package, let reference = PackageReference(package) else { return true }
            return reference.fullName == nil ? entry.package.familyName == reference.familyName : "\(entry.package)" == package
        }
        print("\(verb): \(editor.displayName) now has \(editor.definition.packages.count) package(s)")
        for entry in shown {
            let audience = (entry.users.map { "user \($0)" } + entry.groups.map { "group \($0)" }).joined(separator: ", ")
            print("  \(entry.package)  \(entry.state.rawValue)  \(entry.registration.rawValue)  \(entry.health.rawValue)  \(entry.image)  \(audience.isEmpty ? "nobody" : audience)")
        }
    }
}

extension HostPoolCommand {
    /// `hostpool add POOL IMAGE --share PATH`: adds a package of an uploaded image to the pool.
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a package of an image on the share to a host pool.",
            discussion: """
                IMAGE is the image's name in <share>/images/ (as upload put it there) or its path \\
                relative to the share. The package is --name, or the one package the share's \\
                catalog lists for the image. The entry is added at the end of the file; its \\
                comments and order stay. The change is refused when the hosts would refuse the \\
                file (a second active version of a family: add it --inactive, then activate it).
                """)

        @OptionGroup var target: PoolOnShare

        @Argument(help: ArgumentHelp("The image, in <share>/images/ or relative to the share.", valueName: "image"))
        var image: String

        @Option(help: ArgumentHelp("The PackageFullName (one version) or PackageFamilyName.", valueName: "name"))
        var name: String?

        @Option(help: ArgumentHelp("delayed (menu entry and file types at sign-in, the rest at first launch) or regular.", valueName: "mode"))
        var registration: RegistrationMode = .delayed

        @Flag(help: "Add it inactive: listed, staged by no host, given to nobody until activated.")
        var inactive = false

        @Option(help: ArgumentHelp("What a host that cannot stage it reports: Unhealthy, NeedsAssistance or DoNotFail.", valueName: "policy"))
        var health: HealthPolicy = .needsAssistance

        @Option(parsing: .upToNextOption, help: ArgumentHelp("Users to publish it to.", valueName: "user"))
        var users: [String] = []

        @Option(parsing: .upToNextOption, help: ArgumentHelp("Groups to publish it to.", valueName: "group"))
        var groups: [String] = []

        func run() throws {
            let layout = ShareLayout(root: target.share)
            let path = image.contains("/") ? image : ShareLayout.relativeImagePath(image)
            guard FileManager.default.fileExists(atPath: layout.root + "/" + path) else {
                throw ShareCatalogError(path, "is not on the share at \(layout.root) (upload it first)")
            }
            let packageName = try name ?? Self.onlyPackage(of: path, in: layout)
            guard let reference = PackageReference(packageName) else {
                throw ValidationError("--name must be a PackageFullName or a PackageFamilyName, not \"\(packageName)\"")
            }
            let entry = PackageEntry(image: path, package: reference, registration: registration,
                                     state: inactive ? .inactive : .active, health: health, users: users, groups: groups)
            try target.edit(create: true, verb: "added", package: packageName) { try $0.add(entry) }
        }

        /// The one package the catalog lists for the image.
        static func onlyPackage(of path: String, in layout: ShareLayout) throws -> String {
            let catalog = try Catalog.load(path: layout.catalog)
            let packages = catalog.images.first { $0.path == path }?.packages ?? []
            guard packages.count == 1, let only = packages.first else {
                throw ValidationError("name the package with --name: the share's catalog lists \(packages.isEmpty ? "no package" : "\(packages.count) packages") for \(path)")
            }
            return only
        }
    }

    /// `hostpool publish POOL PACKAGE --users … --groups …`.
    struct Publish: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish a package of a host pool to users and groups.",
            discussion: "A PackageFamilyName publishes every version the pool lists; a PackageFullName that one.")

        @OptionGroup var target: PoolOnShare

        @Argument(help: ArgumentHelp("The PackageFamilyName or PackageFullName.", valueName: "package"))
        var package: String

        @Option(parsing: .upToNextOption, help: ArgumentHelp("Users to publish it to.", valueName: "user"))
        var users: [String] = []

        @Option(parsing: .upToNextOption, help: ArgumentHelp("Groups to publish it to.", valueName: "group"))
        var groups: [String] = []

        func validate() throws {
            guard !users.isEmpty || !groups.isEmpty else { throw ValidationError("name --users or --groups to publish to") }
        }

        func run() throws {
            try target.edit(verb: "published", package: package) { try $0.publish(package, users: users, groups: groups) }
        }
    }

    /// `hostpool unpublish POOL PACKAGE --users … --groups …`.
    struct Unpublish: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take users and groups off a package of a host pool.",
            discussion: "Their hosts deregister it at their next sign-in.")

        @OptionGroup var target: PoolOnShare

        @Argument(help: ArgumentHelp("The PackageFamilyName or PackageFullName.", valueName: "package"))
        var package: String

        @Option(parsing: .upToNextOption, help: ArgumentHelp("Users to take off.", valueName: "user"))
        var users: [String] = []

        @Option(parsing: .upToNextOption, help: ArgumentHelp("Groups to take off.", valueName: "group"))
        var groups: [String] = []

        func validate() throws {
            guard !users.isEmpty || !groups.isEmpty else { throw ValidationError("name --users or --groups to take off") }
        }

        func run() throws {
            try target.edit(verb: "unpublished", package: package) { try $0.unpublish(package, users: users, groups: groups) }
        }
    }

    /// `hostpool activate POOL PACKAGE-FULL-NAME`.
    struct Activate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make one version of a package the active one of its family in a host pool.",
            discussion: """
                The entry that names PACKAGE-FULL-NAME becomes active and every other version of \\
                its family inactive, in one write: hosts stage the new version at their next \\
                poll, give it to the next sign-ins, and destage the old one after its last user \\
                leaves.
                """)

        @OptionGroup var target: PoolOnShare

        @Argument(help: ArgumentHelp("The PackageFullName of the version to activate.", valueName: "package-full-name"))
        var package: String

        func run() throws {
            try target.edit(verb: "activated", package: PackageReference(package)?.familyName) { try $0.activate(package) }
        }
    }

    /// `hostpool remove POOL PACKAGE [--image IMAGE]`.
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a package from a host pool.",
            discussion: """
                A PackageFamilyName removes every version the pool lists; a PackageFullName that \\
                one; --image only the entry of that image. Hosts deregister it at their users' \\
                next sign-in and destage it when nobody uses it; `appattachctl gc` then finds \\
                the image if no other pool names it.
                """)

        @OptionGroup var target: PoolOnShare

        @Argument(help: ArgumentHelp("The PackageFamilyName or PackageFullName.", valueName: "package"))
        var package: String

        @Option(help: ArgumentHelp("Only the entry of this image (as the file names it).", valueName: "image"))
        var image: String?

        func run() throws {
            try target.edit(verb: "removed", package: package) { _ = try $0.remove(package, image: image) }
        }
    }
}
