/// The active entries of a host-pool definition, indexed once per load: by package family,
/// and by the user and group names they are published to. A sign-in then looks at the entries
/// that can name the user (or one of their groups), and a package's gate at the entries that
/// provide it: both cost what the user's or the package's own entries cost, not the size of the
/// pool, which may hold thousands of packages.
///
/// Names are indexed by `key`: lower-cased and without a domain, as NSS sources accept them
/// (`alice`, `ALICE`, `alice@corp.example` and `CORP\alice` are one key). An entry found by key
/// is still confirmed through NSS, by id, as before: `alice@other.example` only matches if NSS
/// says it is this alice. An alias whose name part differs from the account's own name (a UPN
/// `alice.smith@corp.example` for the account `asmith`) is not found: `appattachctl hostpool
/// check` points such names out.
public struct HostPoolIndex: Sendable {
    /// The definition indexed.
    public let definition: HostPoolDefinition
    /// Its active entries, in file order; the index's positions refer to these.
    public let activeEntries: [PackageEntry]
    private let byFamily: [String: [Int]]
    private let byUser: [String: [Int]]
    private let byGroup: [String: [Int]]

    public init(_ definition: HostPoolDefinition) {
        self.definition = definition
        let active = definition.activePackages
        var byFamily: [String: [Int]] = [:]
        var byUser: [String: [Int]] = [:]
        var byGroup: [String: [Int]] = [:]
        for (position, entry) in active.enumerated() {
            byFamily[entry.package.familyName, default: []].append(position)
            for key in Set(entry.users.map(Self.key)) { byUser[key, default: []].append(position) }
            for key in Set(entry.groups.map(Self.key)) { byGroup[key, default: []].append(position) }
        }
        activeEntries = active
        self.byFamily = byFamily
        self.byUser = byUser
        self.byGroup = byGroup
    }

    /// The active entries that provide the staged package `fullName` (a PackageFullName): those
    /// naming its family, or exactly this version; in file order.
    public func entries(providing fullName: String) -> [PackageEntry] {
        guard let family = PackageReference(fullName)?.familyName else { return [] }
        return (byFamily[family] ?? []).map { activeEntries[$0] }.filter { $0.package.fullName.map { $0 == fullName } ?? true }
    }

    /// Positions of the entries whose `users` hold a name with key `key`.
    public func entries(withUserKey key: String) -> [Int] { byUser[key] ?? [] }

    /// Positions of the entries whose `groups` hold a name with key `key`.
    public func entries(withGroupKey key: String) -> [Int] { byGroup[key] ?? [] }

    /// Whether any active entry names a group other than by number (then a user's group names
    /// are worth looking up).
    public var namesGroups: Bool { byGroup.keys.contains { !IDCache.isNumber($0) } }

    /// How a user or group name is looked up in the index: lower-cased, without a
    /// `DOMAIN\` before it or an `@domain` after it. A number (a uid or gid) stays as it is.
    public static func key(_ name: String) -> String {
        var key = Substring(name.lowercased())
        if let backslash = key.lastIndex(of: "\\") { key = key[key.index(after: backslash)...] }
        if let at = key.firstIndex(of: "@") { key = key[..<at] }
        return String(key)
    }
}
