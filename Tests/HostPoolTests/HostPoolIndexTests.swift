import Glibc
import HostPool
import LinuxSystem
import Synchronization
import Testing

/// An account directory that counts its look-ups, to show what a resolution asks NSS.
final class CountingDirectory: AccountDirectory {
    let inner: any AccountDirectory
    private let counts = Mutex<[String: Int]>([:])

    init(_ inner: any AccountDirectory) { self.inner = inner }

    /// Look-ups so far, by kind (`user(named:)`, `group(id:)`, …).
    var lookups: [String: Int] { counts.withLock { $0 } }
    var total: Int { lookups.values.reduce(0, +) }
    func reset() { counts.withLock { $0 = [:] } }

    private func count(_ kind: String) { counts.withLock { $0[kind, default: 0] += 1 } }

    func user(named name: String) throws -> UserRecord? { count("user(named:)"); return try inner.user(named: name) }
    func user(id uid: uid_t) throws -> UserRecord? { count("user(id:)"); return try inner.user(id: uid) }
    func group(named name: String) throws -> GroupRecord? { count("group(named:)"); return try inner.group(named: name) }
    func group(id gid: gid_t) throws -> GroupRecord? { count("group(id:)"); return try inner.group(id: gid) }
    func groupIDs(of user: UserRecord) throws -> [gid_t] { count("groupIDs(of:)"); return try inner.groupIDs(of: user) }
}

/// A host-pool file of `others` packages for other people (each named to a user and a group
/// of its own, whom NSS does not know) around `mine`, the packages of alice (by name, by an
/// alias, through her group `finance`).
enum LargePool {
    static let publisher = "8wekyb3d8bbwe"

    static func text(others: Int, mine: Int = 10) -> String {
        var text = ""
        for n in 0..<max(others, mine) {
            if n < mine {
                let whom = n % 3 == 0 ? "users = [\"alice\"]" : n % 3 == 1 ? "users = [\"ALICE@corp.example\"]" : "groups = [\"finance\"]"
                text += "[[package]]\nimage = \"images/mine\(n).vhdx\"\nname = \"Mine.App\(n)_\(publisher)\"\n\(whom)\n\n"
            }
            if n < others {
                text += "[[package]]\nimage = \"images/other\(n).vhdx\"\nname = \"Other.App\(n)_\(publisher)\"\n"
                text += "users = [\"user\(n)\", \"CORP\\\\person\(n)\"]\ngroups = [\"team\(n)\", \"\(50_000 + n)\"]\n\n"
            }
        }
        return text
    }
}

@Suite("host-pool index")
struct HostPoolIndexTests {
    @Test("names are keyed lower-cased and without a domain; numbers stay numbers")
    func keys() {
        for name in ["alice", "ALICE", "alice@corp.example", "CORP\\alice", "corp\\Alice@corp.example"] {
            #expect(HostPoolIndex.key(name) == "alice", "\(name)")
        }
        #expect(HostPoolIndex.key("1002") == "1002")
    }

    @Test("the entries providing a staged package: its family's, or its exact version's; active only")
    func providing() throws {
        let definition = try HostPoolDefinition.parse("""
            [[package]]
            image = "images/a.vhdx"
            name = "Demo.One_8wekyb3d8bbwe"
            [[package]]
            image = "images/b.vhdx"
            name = "Demo.One_1.0.0.0_x64__8wekyb3d8bbwe"
            state = "inactive"
            [[package]]
            image = "images/c.vhdx"
            name = "Demo.Two_2.0.0.0_x64__8wekyb3d8bbwe"
            """, displayName: "p.toml")
        let index = HostPoolIndex(definition)
        #expect(index.entries(providing: "Demo.One_2.0.0.0_x64__8wekyb3d8bbwe").map(\.image) == ["images/a.vhdx"])
        #expect(index.entries(providing: "Demo.One_1.0.0.0_x64__8wekyb3d8bbwe").map(\.image) == ["images/a.vhdx"])
        #expect(index.entries(providing: "Demo.Two_2.0.0.0_x64__8wekyb3d8bbwe").map(\.image) == ["images/c.vhdx"])
        #expect(index.entries(providing: "Demo.Two_1.0.0.0_x64__8wekyb3d8bbwe").isEmpty)
        #expect(index.entries(providing: "not a package").isEmpty)
    }

    @Test("a user's resolution asks NSS the same in a pool of 10 packages and in one of 5,000, and finds the same")
    func lookupsDoNotGrowWithThePool() throws {
        var results: [[String]] = []
        var lookups: [[String: Int]] = []
        for others in [0, 5_000] {
            let definition = try HostPoolDefinition.parse(LargePool.text(others: others), displayName: "p.toml")
            let directory = CountingDirectory(AssignmentTests.directory)
            let resolver = AssignmentResolver(index: HostPoolIndex(definition), directory: directory)
            let alice = try #require(try AssignmentTests.directory.user(named: "alice"))
            results.append(try resolver.assignments(for: alice).map(\.entry.image))
            lookups.append(directory.lookups)
        }
        #expect(results[0] == (0..<10).map { "images/mine\($0).vhdx" })
        #expect(results[1] == results[0])
        #expect(lookups[1] == lookups[0], "10 packages: \(lookups[0]); 5,000 more: \(lookups[1])")
        // One getgrouplist, a name per group of alice's (alice, finance), her alias, her group name.
        #expect(lookups[0].values.reduce(0, +) <= 5, "\(lookups[0])")
    }

    /// NSS that also knows alice by her UPN, whose name part is not her account name.
    struct UPNDirectory: AccountDirectory {
        let inner = AssignmentTests.directory
        func user(named name: String) throws -> UserRecord? {
            name == "alice.smith@corp.example" ? try inner.user(named: "alice") : try inner.user(named: name)
        }
        func user(id uid: uid_t) throws -> UserRecord? { try inner.user(id: uid) }
        func group(named name: String) throws -> GroupRecord? { try inner.group(named: name) }
        func group(id gid: gid_t) throws -> GroupRecord? { try inner.group(id: gid) }
        func groupIDs(of user: UserRecord) throws -> [gid_t] { try inner.groupIDs(of: user) }
    }

    @Test("a name NSS resolves under another name part matches nobody at sign-in, and hostpool check says so")
    func aliasWarned() throws {
        let definition = try HostPoolDefinition.parse("""
            [[package]]
            image = "images/a.vhdx"
            name = "Demo.One_8wekyb3d8bbwe"
            users = ["alice.smith@corp.example", "ALICE@corp.example"]
            """, displayName: "p.toml")
        let report = try HostPoolReport(definition: definition, file: "hostpools/p.toml", directory: UPNDirectory())
        #expect(report.warnings == ["line 1: user \"alice.smith@corp.example\" is the user alice to NSS here, but hosts match names by the user's own name (with or without a domain): write \"alice\""])
        #expect(report.text.contains("\nwarning: line 1: user \"alice.smith@corp.example\""))
        let alice = try #require(try UPNDirectory().user(named: "alice"))
        #expect(try AssignmentResolver(definition: definition, directory: UPNDirectory()).assignments(for: alice).map(\.viaUser) == ["ALICE@corp.example"])
    }
}
