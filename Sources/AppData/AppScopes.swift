import Glibc
import LinuxSystem

/// The running instances of a package's apps, seen in the unified cgroup tree: the transient
/// user scopes named by `AppScopeName` under the user's `app.slice`. A scope counts while its
/// `cgroup.events` says `populated 1` (a process in it or below).
public struct AppScopes: Sendable {
    /// Where cgroup2 is mounted.
    public let cgroupRoot: String

    /// Where the unified (cgroup2) hierarchy is, as systemd mounts it: `/sys/fs/cgroup` on a
    /// unified host, `/sys/fs/cgroup/unified` on a hybrid one (cgroup v1 controllers beside it).
    public static func unifiedHierarchy() -> String {
        for root in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] where access(root + "/cgroup.controllers", F_OK) == 0 {
            return root
        }
        return "/sys/fs/cgroup"
    }

    /// Scopes under `cgroupRoot` (default: where this host has its unified hierarchy).
    public init(cgroupRoot: String = AppScopes.unifiedHierarchy()) {
        self.cgroupRoot = cgroupRoot
    }

    /// The scopes (directory paths) of `packageFamilyName`'s apps of `uid` that still hold a
    /// process. None when the user's manager or its `app.slice` is gone.
    public func running(uid: UInt32, packageFamilyName: String) -> [String] {
        let slice = AppScopeName.appSliceDirectory(uid: uid, cgroupRoot: cgroupRoot)
        let prefix = AppScopeName.prefix(packageFamilyName: packageFamilyName)
        guard let names = try? DirectoryListing.names(slice) else { return [] }
        return names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".scope") }.map { slice + "/" + $0 }
            .filter(Self.isPopulated).sorted()
    }

    /// Kills every process in `scope` and below at once (`cgroup.kill`, Linux 5.14 and later).
    public func kill(_ scope: String) throws(AppDataError) {
        do { try SysfsFile.write(scope + "/cgroup.kill", "1") } catch {
            // Emptied and removed meanwhile: nothing left to kill.
            if error.errno == ENOENT { return }
            throw AppDataError("cannot stop the apps in \(scope): \(error)")
        }
    }

    static func isPopulated(_ scope: String) -> Bool {
        guard let events = try? SysfsFile.read(scope + "/cgroup.events") else { return false }
        return events.split(separator: "\n").contains("populated 1")
    }
}
