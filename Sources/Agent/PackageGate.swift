import HostPool
import LinuxSystem

/// Who may enter a staged package's gate directory: the users and groups of every active
/// host-pool entry that provides the package, as a POSIX access list. Root keeps full access;
/// the owning group and others get nothing, so a user who is not assigned cannot even list it.
public struct PackageGate: Sendable, Equatable {
    public var uids: Set<UInt32>
    public var gids: Set<UInt32>
    /// Names in the host pool that NSS did not know; they open the gate for nobody.
    public var unresolved: [String]

    public init(uids: Set<UInt32> = [], gids: Set<UInt32> = [], unresolved: [String] = []) {
        self.uids = uids
        self.gids = gids
        self.unresolved = unresolved
    }

    /// The gate of package `fullName` under `definition`, names resolved through `directory`.
    public static func resolve(fullName: String, definition: HostPoolDefinition,
                               directory: any AccountDirectory) -> PackageGate {
        var ids = IDCache(directory: directory)
        return resolve(fullName: fullName, index: HostPoolIndex(definition), ids: &ids)
    }

    /// The gate of package `fullName`: the entries that provide it, found in `index` (not by
    /// going through the pool), their names resolved through `ids`.
    public static func resolve(fullName: String, index: HostPoolIndex, ids: inout IDCache) -> PackageGate {
        var gate = PackageGate()
        for entry in index.entries(providing: fullName) {
            for name in entry.users {
                if let uid = try? ids.uid(of: name) { gate.uids.insert(uid) } else { gate.unresolved.append("user \(name)") }
            }
            for name in entry.groups {
                if let gid = try? ids.gid(of: name) { gate.gids.insert(gid) } else { gate.unresolved.append("group \(name)") }
            }
        }
        return gate
    }

    /// The access list in libacl's short text form: `r-x` (enter and read) for each named
    /// user and group, and a mask that allows exactly that.
    public var aclText: String {
        var entries = ["u::rwx", "g::---", "o::---"]
        entries += uids.sorted().map { "u:\($0):r-x" }
        entries += gids.sorted().map { "g:\($0):r-x" }
        if !uids.isEmpty || !gids.isEmpty { entries.append("m::r-x") }
        return entries.joined(separator: ",")
    }
}
