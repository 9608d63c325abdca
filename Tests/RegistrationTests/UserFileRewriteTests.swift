import Foundation
import Glibc
import LinuxSystem
import Registration
import Testing
import TestSupport

/// The user's own `mimeapps.list`, which registration reads, merges and writes back as the
/// user: every line of theirs and the mode they gave it are kept, however long the file; one
/// past the explicit bound is refused with the reason and left exactly as it was.
@Suite("rewriting a user's own mimeapps.list (root: users)", .serialized, .tags(.makesUsers),
       .enabled(if: TestEnvironment.isRoot && TestEnvironment.hasTool("useradd") && TestEnvironment.hasTool("setpriv"),
                "needs root, useradd and setpriv to make a test user"))
struct UserFileRewriteTests {
    let fixture = CoffeeFixture.shared
    let pfn = CoffeeFixture.familyName
    let files = UserFiles()

    /// About `size` bytes of associations the user keeps by hand: a comment, their own
    /// defaults and added associations (in the canonical `type=a;b;` form, which a merge that
    /// touches a list writes back), `text/plain` that the package wants too, and a section
    /// appattach does not manage, with spacing of its own.
    static func usersOwnList(size: Int) -> String {
        var text = "# kept by hand\n[Default Applications]\ntext/plain=vim.desktop;\n"
        var n = 0
        while text.utf8.count < size / 2 {
            text += "application/x-mine-\(n)=mine-\(n).desktop;other-\(n).desktop;\n"
            n += 1
        }
        text += "\n[Added Associations]\ntext/plain=vim.desktop;\n"
        while text.utf8.count < size {
            text += "application/x-added-\(n)=added-\(n).desktop;\n"
            n += 1
        }
        return text + "\n[My Section]\n  key = value with spaces  \n"
    }

    static func mode(_ path: String) -> mode_t? { lstatus(path).map { $0.st_mode & 0o7777 } }

    static func temporaryFiles(_ user: TestUser) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: user.home + "/.config").filter { $0.contains(".tmp-") }
    }

    @Test("a 3 MiB mimeapps.list of mode 0600: after registration every line of the user's is there and the mode is 0600; after deregistration the file is as it was")
    func aLongFileKeepsItsLinesAndMode() throws {
        let user = try TestUser()
        defer { user.remove() }
        let path = user.home + "/" + RegistrationLayout.mimeApps
        let original = Self.usersOwnList(size: 3 << 20)
        #expect(original.utf8.count > 3 << 20)
        // Planted by the user: copied from a file anyone may read.
        let source = TestEnvironment.makeTemporaryDirectory("mimeapps")
        defer { TestEnvironment.removeTemporaryDirectory(source) }
        chmod(source, 0o755)
        try original.write(toFile: source + "/mimeapps.list", atomically: false, encoding: .utf8)
        chmod(source + "/mimeapps.list", 0o644)
        try user.shell("mkdir -p .config && cp '\(source)/mimeapps.list' .config/mimeapps.list && chmod 0600 .config/mimeapps.list")
        #expect(Self.mode(path) == 0o600)

        let registered = try Register(files: files).run([fixture.plan(.regular, home: user.home)], for: user.account)
        #expect(registered.written.contains(RegistrationLayout.mimeApps))
        let merged = try String(contentsOfFile: path, encoding: .utf8)
        #expect(merged.contains("appattach-\(pfn)-"), "the package's associations were merged in")
        let lines = Set(merged.split(separator: "\n", omittingEmptySubsequences: false))
        let missing = original.split(separator: "\n", omittingEmptySubsequences: false).filter { !lines.contains($0) && $0 != "text/plain=vim.desktop;" }
        #expect(missing.isEmpty, "lines of the user's lost: \(missing.prefix(5))")
        #expect(Self.mode(path) == 0o600)
        #expect(user.owner(path) == user.account.uid)

        try Deregister(files: files).run(.packages([pfn]), for: user.account)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == original)
        #expect(Self.mode(path) == 0o600)
        #expect(try Self.temporaryFiles(user).isEmpty)
    }

    @Test("a mimeapps.list one byte past the bound: registration and deregistration refuse with the reason and leave it byte for byte")
    func aFilePastTheBoundIsLeftAlone() throws {
        let user = try TestUser()
        defer { user.remove() }
        let path = user.home + "/" + RegistrationLayout.mimeApps
        let limit = RegistrationLayout.largestRewrittenFile
        // The user's lines, then zeros up to one byte past the bound (sparse: cheap to make).
        try user.shell("mkdir -p .config && printf '[Default Applications]\\ntext/plain=vim.desktop;\\n' > .config/mimeapps.list"
                       + " && truncate -s \(limit + 1) .config/mimeapps.list && chmod 0640 .config/mimeapps.list")
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let stat = try #require(lstatus(path))

        func expectRefused(_ what: String, _ body: () throws -> Void) throws {
            #expect {
                try body()
            } throws: { error in
                let text = "\(error)"
                return text.contains("~/.config/mimeapps.list") && text.contains("more than the \(limit >> 20) MiB appattach rewrites")
                    && text.contains("left as it is") && text.contains("File too large") && !text.contains("\n")
            }
            let after = try #require(lstatus(path))
            #expect(after.st_ino == stat.st_ino && after.st_size == stat.st_size, "\(what): the same file, not replaced")
            #expect(after.st_mtim.tv_sec == stat.st_mtim.tv_sec && after.st_mtim.tv_nsec == stat.st_mtim.tv_nsec, "\(what): not written")
            #expect(after.st_mode & 0o7777 == 0o640)
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "\(what): byte for byte")
            #expect(try Self.temporaryFiles(user).isEmpty)
        }
        try expectRefused("registration") { try Register(files: files).run([fixture.plan(.regular, home: user.home)], for: user.account) }
        try expectRefused("deregistration") { try Deregister(files: files).run(.packages([pfn]), for: user.account) }
    }
}
