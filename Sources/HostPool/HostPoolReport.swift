import Glibc
import LinuxSystem

/// What a host-pool file means on this host: each package with its users and groups resolved
/// through NSS (or marked unknown), and optionally what one user gets. `appattachctl hostpool
/// check` prints it as text or JSON.
public struct HostPoolReport: Codable, Sendable, Equatable {
    /// A user or group name from the file and the id NSS gives it here (nil: unknown here).
    public struct Principal: Codable, Sendable, Equatable {
        public var name: String
        public var id: UInt32?

        public init(name: String, id: UInt32?) {
            self.name = name
            self.id = id
        }
    }

    /// One `[[package]]` entry.
    public struct Package: Codable, Sendable, Equatable {
        public var name: String
        public var familyName: String
        public var image: String
        public var state: PackageState
        public var registration: RegistrationMode
        public var health: HealthPolicy
        public var line: Int?
        public var users: [Principal]
        public var groups: [Principal]
    }

    /// The packages one user gets.
    public struct UserAssignments: Codable, Sendable, Equatable {
        /// One assigned package and the entries that give it.
        public struct Item: Codable, Sendable, Equatable {
            public var name: String
            public var registration: RegistrationMode
            public var viaUser: String?
            public var viaGroups: [String]
        }
        public var user: String
        public var uid: UInt32
        public var packages: [Item]
    }

    public var file: String
    public var packages: [Package]
    public var user: UserAssignments?

    /// Resolves every name in `definition` through `directory`, and the assignments of `user`
    /// (a name or uid) when given.
    public init(definition: HostPoolDefinition, file: String, directory: any AccountDirectory = SystemAccountDirectory(),
                user: String? = nil) throws {
        self.file = file
        var ids = IDCache(directory: directory)
        var packages: [Package] = []
        for entry in definition.packages {
            var users: [Principal] = []
            for name in entry.users { users.append(Principal(name: name, id: try ids.uid(of: name))) }
            var groups: [Principal] = []
            for name in entry.groups { groups.append(Principal(name: name, id: try ids.gid(of: name))) }
            packages.append(Package(name: entry.package.description, familyName: entry.package.familyName,
                                    image: entry.image, state: entry.state, registration: entry.registration,
                                    health: entry.health, line: entry.line, users: users, groups: groups))
        }
        self.packages = packages
        guard let user else { self.user = nil; return }
        let record: UserRecord?
        if IDCache.isNumber(user), let uid = uid_t(user) {
            record = try directory.user(id: uid)
        } else {
            record = try directory.user(named: user)
        }
        guard let record else { throw UnknownUserError(user: user) }
        let assignments = try AssignmentResolver(definition: definition, directory: directory).assignments(for: record)
        self.user = UserAssignments(user: record.name, uid: record.uid, packages: assignments.map {
            .init(name: $0.entry.package.description, registration: $0.entry.registration,
                  viaUser: $0.viaUser, viaGroups: $0.viaGroups)
        })
    }

    /// Human-readable: one line per package, then its users and groups.
    public var text: String {
        let active = packages.filter { $0.state == .active }.count
        var out = "\(file): \(packages.count) package\(packages.count == 1 ? "" : "s") (\(active) active, \(packages.count - active) inactive)\n"
        for package in packages {
            out += "\(package.name)  \(package.state.rawValue)  \(package.registration.rawValue)  \(package.health.rawValue)  \(package.image)\n"
            if package.users.isEmpty && package.groups.isEmpty {
                out += "  published to nobody\n"
            }
            if !package.users.isEmpty { out += "  users: \(Self.list(package.users, idName: "uid"))\n" }
            if !package.groups.isEmpty { out += "  groups: \(Self.list(package.groups, idName: "gid"))\n" }
        }
        if let user {
            out += "\(user.user) (uid \(user.uid)) gets \(user.packages.count) package\(user.packages.count == 1 ? "" : "s")\(user.packages.isEmpty ? "" : ":")\n"
            for item in user.packages {
                var reasons: [String] = []
                if let viaUser = item.viaUser { reasons.append("user \(viaUser)") }
                reasons += item.viaGroups.map { "group \($0)" }
                out += "  \(item.name) (\(item.registration.rawValue)) via \(reasons.joined(separator: ", "))\n"
            }
        }
        return out
    }

    private static func list(_ principals: [Principal], idName: String) -> String {
        principals.map { p in p.id.map { "\(p.name) (\(idName) \($0))" } ?? "\(p.name) (unknown to NSS here)" }
            .joined(separator: ", ")
    }
}
