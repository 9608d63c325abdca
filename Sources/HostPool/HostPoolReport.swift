import Glibc
import Health
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
    /// Names NSS resolves here that hosts will not match at sign-in: an alias whose name part
    /// is not the account's own (a UPN `alice.smith@corp.example` for the account `asmith`),
    /// since sign-ins look names up by the account's name (`HostPoolIndex`).
    public var warnings: [String] = []

    /// Resolves every name in `definition` through `directory`, and the assignments of `user`
    /// (a name or uid) when given.
    public init(definition: HostPoolDefinition, file: String, directory: any AccountDirectory = SystemAccountDirectory(),
                user: String? = nil) throws {
        self.file = file
        var ids = IDCache(directory: directory)
        var packages: [Package] = []
        var aliases = AliasCheck(directory: directory)
        for entry in definition.packages {
            var users: [Principal] = []
            for name in entry.users {
                let id = try ids.uid(of: name)
                users.append(Principal(name: name, id: id))
                if id != nil { try aliases.check(user: name, line: entry.line) }
            }
            var groups: [Principal] = []
            for name in entry.groups {
                let id = try ids.gid(of: name)
                groups.append(Principal(name: name, id: id))
                if id != nil { try aliases.check(group: name, line: entry.line) }
            }
            packages.append(Package(name: entry.package.description, familyName: entry.package.familyName,
                                    image: entry.image, state: entry.state, registration: entry.registration,
                                    health: entry.health, line: entry.line, users: users, groups: groups))
        }
        self.packages = packages
        warnings = aliases.warnings
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
        for warning in warnings { out += "warning: \(warning)\n" }
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

/// Finds names that resolve through NSS but not under the account's own name part, which the
/// hosts' index cannot find at sign-in (each name looked up once).
struct AliasCheck {
    let directory: any AccountDirectory
    private var checked: Set<String> = []
    private(set) var warnings: [String] = []

    init(directory: any AccountDirectory) { self.directory = directory }

    mutating func check(user name: String, line: Int?) throws {
        guard !IDCache.isNumber(name), checked.insert("u:" + name).inserted,
              let account = try directory.user(named: name)?.name else { return }
        note(name, kind: "user", account: account, line: line)
    }

    mutating func check(group name: String, line: Int?) throws {
        guard !IDCache.isNumber(name), checked.insert("g:" + name).inserted,
              let account = try directory.group(named: name)?.name else { return }
        note(name, kind: "group", account: account, line: line)
    }

    private mutating func note(_ name: String, kind: String, account: String, line: Int?) {
        guard HostPoolIndex.key(name) != HostPoolIndex.key(account) else { return }
        let place = line.map { "line \($0): " } ?? ""
        warnings.append("\(place)\(kind) \"\(name)\" is the \(kind) \(account) to NSS here, but hosts match names by the \(kind)'s own name (with or without a domain): write \"\(account)\"")
    }
}
