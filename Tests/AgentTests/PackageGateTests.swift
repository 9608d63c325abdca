import Glibc
import HostPool
import LinuxSystem
import Testing
@testable import Agent

/// A fixed account table, so gate rules are checked without NSS.
struct TableDirectory: AccountDirectory {
    var users: [UserRecord] = [UserRecord(name: "alice", uid: 1001, gid: 1001, home: "/home/alice"),
                               UserRecord(name: "bob", uid: 1002, gid: 1002, home: "/home/bob")]
    var groups: [GroupRecord] = [GroupRecord(name: "finance", gid: 2001)]

    func user(named name: String) throws -> UserRecord? { users.first { $0.name == name } }
    func user(id uid: uid_t) throws -> UserRecord? { users.first { $0.uid == uid } }
    func group(named name: String) throws -> GroupRecord? { groups.first { $0.name == name } }
    func group(id gid: gid_t) throws -> GroupRecord? { groups.first { $0.gid == gid } }
    func groupIDs(of user: UserRecord) throws -> [gid_t] { [user.gid] }
}

@Suite("package gate rules")
struct PackageGateRuleTests {
    static let full = "Demo.One_1.0.0.0_neutral__8wekyb3d8bbwe"

    func definition(_ text: String) throws -> HostPoolDefinition {
        try HostPoolDefinition.parse(text, displayName: "hostpools/test.toml")
    }

    @Test("users and groups of every active entry naming the package get r-x; the mask allows exactly that")
    func activeEntries() throws {
        let pool = try definition("""
            [[package]]
            image = "images/one.vhdx"
            name = "Demo.One_8wekyb3d8bbwe"
            users = ["bob", "1500"]
            groups = ["finance"]

            [[package]]
            image = "images/one-next.vhdx"
            name = "Demo.One_1.0.0.0_neutral__8wekyb3d8bbwe"
            state = "inactive"
            users = ["alice"]

            [[package]]
            image = "images/two.vhdx"
            name = "Demo.Two_8wekyb3d8bbwe"
            users = ["alice"]
            """)
        let gate = PackageGate.resolve(fullName: Self.full, definition: pool, directory: TableDirectory())
        #expect(gate.uids == [1002, 1500])
        #expect(gate.gids == [2001])
        #expect(gate.aclText == "u::rwx,g::---,o::---,u:1002:r-x,u:1500:r-x,g:2001:r-x,m::r-x")
        // The text is one libacl accepts.
        _ = try AccessControlList(gate.aclText)
    }

    @Test("a package nobody is assigned is closed to all but root; unknown names are reported, not let in")
    func closed() throws {
        let pool = try definition("""
            [[package]]
            image = "images/one.vhdx"
            name = "Demo.One_8wekyb3d8bbwe"
            users = ["mallory"]
            groups = ["nobody-group"]
            """)
        let gate = PackageGate.resolve(fullName: Self.full, definition: pool, directory: TableDirectory())
        #expect(gate.aclText == "u::rwx,g::---,o::---")
        #expect(gate.unresolved == ["user mallory", "group nobody-group"])
        _ = try AccessControlList(gate.aclText)
    }
}
