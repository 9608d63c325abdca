import Foundation
import Glibc
import HostPool
import LinuxSystem
import Testing
import TestSupport

/// A user and three groups (`aat…`) created for one test with `useradd`/`groupadd`; `deinit`
/// removes them, also when making one of them failed.
final class ScratchAccounts {
    let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    var user: String { "aat\(suffix)" }
    var primary: String { "aatp\(suffix)" }
    var secondary: String { "aats\(suffix)" }
    var unrelated: String { "aatu\(suffix)" }

    init() throws {
        for group in [primary, secondary, unrelated] {
            try ExternalCommand("groupadd", [group]).run()
        }
        try ExternalCommand("useradd", ["--no-create-home", "--gid", primary, "--groups", secondary, user]).run()
    }

    deinit {
        _ = try? TestEnvironment.run(["userdel", user])
        for group in [primary, secondary, unrelated] { _ = try? TestEnvironment.run(["groupdel", group]) }
    }
}

@Suite("assignment resolution through NSS (root: users, groups)", .serialized, .tags(.makesUsers),
       .enabled(if: TestEnvironment.isRoot, "needs root to create a test user and groups"),
       .enabled(if: TestEnvironment.hasTool("useradd") && TestEnvironment.hasTool("groupadd"), "needs useradd and groupadd"))
struct SystemAccountTests {
    @Test("a real user gets packages through their supplementary group, by name and by uid")
    func realAccounts() throws {
        let accounts = try ScratchAccounts()
        let directory = SystemAccountDirectory()
        let user = try #require(try directory.user(named: accounts.user))
        let primary = try #require(try directory.group(named: accounts.primary))
        let secondary = try #require(try directory.group(named: accounts.secondary))
        #expect(user.gid == primary.gid)
        #expect(try directory.user(id: user.uid) == user)
        #expect(try directory.group(id: secondary.gid) == secondary)
        #expect(Set(try directory.groupIDs(of: user)) == [primary.gid, secondary.gid])
        #expect(try directory.user(named: accounts.user + "x") == nil)
        #expect(try directory.group(named: accounts.secondary + "x") == nil)

        let definition = try HostPoolDefinition.parse("""
            [[package]]
            image = "images/a.vhdx"
            name = "Contoso.Secondary_8wekyb3d8bbwe"
            groups = ["\(accounts.secondary)"]
            [[package]]
            image = "images/b.vhdx"
            name = "Contoso.Unrelated_8wekyb3d8bbwe"
            groups = ["\(accounts.unrelated)"]
            [[package]]
            image = "images/c.vhdx"
            name = "Contoso.Primary_8wekyb3d8bbwe"
            groups = ["\(primary.gid)"]
            [[package]]
            image = "images/d.vhdx"
            name = "Contoso.Named_8wekyb3d8bbwe"
            users = ["\(accounts.user)"]
            """, displayName: "p.toml")
        let resolver = AssignmentResolver(definition: definition, directory: directory)
        let expected = ["images/a.vhdx", "images/c.vhdx", "images/d.vhdx"]
        #expect(try resolver.assignments(forUserNamed: accounts.user).map(\.entry.image) == expected)
        #expect(try resolver.assignments(forUID: user.uid).map(\.entry.image) == expected)
    }
}
