import Glibc
import HostPool
import LinuxSystem
import Testing

/// An account table standing in for NSS. Lookups are case-insensitive and accept `name@corp`,
/// as SSSD does, so the tests show that names are compared through the directory.
struct FakeDirectory: AccountDirectory {
    var users: [UserRecord]
    var groups: [GroupRecord]
    /// Supplementary groups by user name.
    var members: [String: [gid_t]]
    /// Names whose lookup fails as an unreachable directory does.
    var failing: Set<String> = []

    func canonical(_ name: String) throws -> String {
        if failing.contains(name) { throw SystemCallError("getpwnam_r", name, errno: EIO) }
        return String(name.lowercased().split(separator: "@").first ?? "")
    }
    func user(named name: String) throws -> UserRecord? {
        let key = try canonical(name)
        return users.first { $0.name == key }
    }
    func user(id uid: uid_t) throws -> UserRecord? { users.first { $0.uid == uid } }
    func group(named name: String) throws -> GroupRecord? {
        let key = try canonical(name)
        return groups.first { $0.name == key }
    }
    func group(id gid: gid_t) throws -> GroupRecord? { groups.first { $0.gid == gid } }
    func groupIDs(of user: UserRecord) throws -> [gid_t] { [user.gid] + (members[user.name] ?? []) }
}

@Suite("assignment resolution")
struct AssignmentTests {
    static let directory = FakeDirectory(
        users: [UserRecord(name: "alice", uid: 1001, gid: 1001, home: "/home/alice"),
                UserRecord(name: "bob", uid: 1002, gid: 1002, home: "/home/bob"),
                UserRecord(name: "carol", uid: 1003, gid: 3000, home: "/home/carol")],
        groups: [GroupRecord(name: "alice", gid: 1001), GroupRecord(name: "bob", gid: 1002),
                 GroupRecord(name: "finance", gid: 2000), GroupRecord(name: "staff", gid: 3000),
                 GroupRecord(name: "vdi", gid: 4000)],
        members: ["alice": [2000], "bob": [4000]])

    static let definition = try! HostPoolDefinition.parse("""
        [[package]]
        image = "images/editor.vhdx"
        name = "Contoso.Editor_8wekyb3d8bbwe"
        groups = ["VDI", "finance"]

        [[package]]
        image = "images/accounts.vhdx"
        name = "Fabrikam.Accounts_8wekyb3d8bbwe"
        registration = "regular"
        users = ["ALICE@corp.example", "nobody-here"]

        [[package]]
        image = "images/old.vhdx"
        name = "Fabrikam.Old_8wekyb3d8bbwe"
        state = "inactive"
        users = ["alice", "bob", "carol"]

        [[package]]
        image = "images/staff.vhdx"
        name = "Fabrikam.Staff_8wekyb3d8bbwe"
        groups = ["3000"]
        users = ["1002"]
        """, displayName: "p.toml")

    var resolver: AssignmentResolver { AssignmentResolver(definition: Self.definition, directory: Self.directory) }

    @Test("a user gets packages through their name (as NSS resolves it) and their groups; inactive ones never")
    func alice() throws {
        let assignments = try resolver.assignments(forUserNamed: "alice")
        #expect(assignments.map(\.entry.image) == ["images/editor.vhdx", "images/accounts.vhdx"])
        #expect(assignments[0].viaUser == nil)
        #expect(assignments[0].viaGroups == ["finance"])
        #expect(assignments[1].viaUser == "ALICE@corp.example")
        #expect(assignments[1].viaGroups.isEmpty)
    }

    @Test("numbers in the lists are uids and gids; the primary group counts")
    func numericAndPrimary() throws {
        #expect(try resolver.assignments(forUID: 1002).map(\.entry.image) == ["images/editor.vhdx", "images/staff.vhdx"])
        let carol = try resolver.assignments(forUserNamed: "carol")
        #expect(carol.map(\.entry.image) == ["images/staff.vhdx"])
        #expect(carol[0].viaGroups == ["3000"])
    }

    @Test("an unknown user is an error, not an empty list")
    func unknownUser() {
        #expect(throws: UnknownUserError(user: "mallory")) { try resolver.assignments(forUserNamed: "mallory") }
        #expect(throws: UnknownUserError(user: "4242")) { try resolver.assignments(forUID: 4242) }
    }

    @Test("a directory that cannot answer makes resolution fail rather than assign nothing")
    func directoryFailure() throws {
        var directory = Self.directory
        directory.failing = ["ALICE@corp.example"]
        let resolver = AssignmentResolver(definition: Self.definition, directory: directory)
        #expect(throws: SystemCallError.self) { try resolver.assignments(forUserNamed: "alice") }
        // A name that cannot concern bob is not looked up for him: it does not hold up his sign-in.
        #expect(try resolver.assignments(forUserNamed: "bob").map(\.entry.image) == ["images/editor.vhdx", "images/staff.vhdx"])
    }

    @Test("the check report resolves every name and explains one user's assignments")
    func report() throws {
        let report = try HostPoolReport(definition: Self.definition, file: "hostpools/p.toml",
                                        directory: Self.directory, user: "alice")
        #expect(report.packages.count == 4)
        #expect(report.packages[1].users == [.init(name: "ALICE@corp.example", id: 1001), .init(name: "nobody-here", id: nil)])
        #expect(report.user?.packages.map(\.name) == ["Contoso.Editor_8wekyb3d8bbwe", "Fabrikam.Accounts_8wekyb3d8bbwe"])
        #expect(report.text == """
            hostpools/p.toml: 4 packages (3 active, 1 inactive)
            Contoso.Editor_8wekyb3d8bbwe  active  delayed  NeedsAssistance  images/editor.vhdx
              groups: VDI (gid 4000), finance (gid 2000)
            Fabrikam.Accounts_8wekyb3d8bbwe  active  regular  NeedsAssistance  images/accounts.vhdx
              users: ALICE@corp.example (uid 1001), nobody-here (unknown to NSS here)
            Fabrikam.Old_8wekyb3d8bbwe  inactive  delayed  NeedsAssistance  images/old.vhdx
              users: alice (uid 1001), bob (uid 1002), carol (uid 1003)
            Fabrikam.Staff_8wekyb3d8bbwe  active  delayed  NeedsAssistance  images/staff.vhdx
              users: 1002 (uid 1002)
              groups: 3000 (gid 3000)
            alice (uid 1001) gets 2 packages:
              Contoso.Editor_8wekyb3d8bbwe (delayed) via group finance
              Fabrikam.Accounts_8wekyb3d8bbwe (regular) via user ALICE@corp.example

            """)
    }
}
