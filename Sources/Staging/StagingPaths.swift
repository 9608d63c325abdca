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

    public init(runtime: String = StagingPaths.defaultRuntime) {
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

    /// The tag written into `lo_file_name` of the loop devices staged under this runtime
    /// directory (at most 63 bytes): `appattach:<image-id>`, and for a runtime directory other
    /// than `/run/appattach` (tests, a second tree an admin keeps) `@` and the first 8 hex
    /// digits of its path's SHA-256 after it. Loop devices are global to the kernel and the
    /// staging lock is per runtime directory: a repair looks only at devices of its own tree.
    public func loopTag(_ id: String) -> String { "appattach:" + id + loopTagSuffix }

    /// Whether a loop device's tag says it was staged under this runtime directory.
    public func ownsLoopTag(_ tag: String) -> Bool {
        guard tag.hasPrefix("appattach:") else { return false }
        return loopTagSuffix.isEmpty ? !tag.contains("@") : tag.hasSuffix(loopTagSuffix)
    }

    private var loopTagSuffix: String {
        runtime == Self.defaultRuntime ? "" : "@" + HexDigits.string(PlainSHA256.hash(Array(runtime.utf8)).prefix(4))
    }

    /// The runtime directory of a host.
    public static let defaultRuntime = "/run/appattach"
}
