/// Where staged images and packages live. Re-rootable so tests can use a scratch directory.
public struct StagingPaths: Sendable, Equatable {
    /// The runtime directory, `/run/appattach` on a host.
    public let runtime: String

    public init(runtime: String = "/run/appattach") {
        self.runtime = runtime
    }

    /// Mount points of staged images: `images/<image-id>`; root-only.
    public var images: String { runtime + "/images" }
    /// Where packages are exposed: `packages/<PackageFullName>`.
    public var packages: String { runtime + "/packages" }
    /// Records of staged images: `staged/<image-id>.json`.
    public var records: String { runtime + "/staged" }

    public func imageMountPoint(_ id: String) -> String { images + "/" + id }
    public func packageMountPoint(_ fullName: String) -> String { packages + "/" + fullName }
    public func record(_ id: String) -> String { records + "/" + id + ".json" }

    /// The tag written into `lo_file_name` of our loop devices (at most 63 bytes).
    public static func loopTag(_ id: String) -> String { "appattach:" + id }
}
