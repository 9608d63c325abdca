/// Where staged images and packages live. Re-rootable so tests can use a scratch directory.
///
/// A package is mounted inside a gate directory of its own, `gates/<PackageFullName>/package`,
/// and published under its stable name `packages/<PackageFullName>`, a symbolic link to that
/// mount point. The gate is what limits a package to its assigned users: a read-only bind
/// mount cannot carry an access list of its own (the mounted directory is the image's), but the
/// directory it sits in can, and the kernel checks it on every path that leads into the package.
public struct StagingPaths: Sendable, Equatable {
    /// The runtime directory, `/run/appattach` on a host.
    public let runtime: String

    public init(runtime: String = "/run/appattach") {
        self.runtime = runtime
    }

    /// Mount points of staged images: `images/<image-id>`; root-only.
    public var images: String { runtime + "/images" }
    /// Where packages are published: `packages/<PackageFullName>`, links into their gates.
    public var packages: String { runtime + "/packages" }
    /// One gate directory per package: `gates/<PackageFullName>`.
    public var gates: String { runtime + "/gates" }
    /// Records of staged images: `staged/<image-id>.json`.
    public var records: String { runtime + "/staged" }
    /// What staging learnt about each image file it has read (`MappingCache`); root-only.
    public var mappings: String { runtime + "/mappings" }

    public func imageMountPoint(_ id: String) -> String { images + "/" + id }
    /// The gate of a package, whose mode and access list decide who may enter it.
    public func gate(_ fullName: String) -> String { gates + "/" + fullName }
    /// Where the package is bind-mounted, inside its gate.
    public func packageMountPoint(_ fullName: String) -> String { gate(fullName) + "/" + Self.mountDirectoryName }
    /// The package's published path: a symbolic link to its mount point.
    public func packageLink(_ fullName: String) -> String { packages + "/" + fullName }
    /// What the link in `packages/` holds: relative, so a re-rooted tree stays consistent.
    public static func packageLinkTarget(_ fullName: String) -> String { "../gates/\(fullName)/\(mountDirectoryName)" }
    public func record(_ id: String) -> String { records + "/" + id + ".json" }

    /// The name of the mount point inside a gate.
    public static let mountDirectoryName = "package"

    /// The PackageFullName of a package mount point (`gates/<name>/package`), or nil when the
    /// path is not one.
    public func fullName(ofPackageMountPoint path: String) -> String? {
        let suffix = "/" + Self.mountDirectoryName
        guard path.hasPrefix(gates + "/"), path.hasSuffix(suffix) else { return nil }
        let name = path.dropFirst(gates.count + 1).dropLast(suffix.count)
        guard !name.isEmpty, !name.utf8.contains(UInt8(ascii: "/")) else { return nil }
        return String(name)
    }

    /// The tag written into `lo_file_name` of our loop devices (at most 63 bytes).
    public static func loopTag(_ id: String) -> String { "appattach:" + id }
}
