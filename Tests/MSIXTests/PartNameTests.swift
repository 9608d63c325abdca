import Foundation
import MSIX
import Testing
import TestSupport
import ZipArchive

@Suite struct PartNameTests {
    @Test(arguments: ["/etc/passwd", "../evil", "a/../../evil", "%2e%2e/evil", "a/%2E%2E/b", "a//b", "a/", "./a",
                      "a\\..\\b", "%2Fetc%2Fpasswd", "bad%zzescape", "ctl%0Achar", "%FF%FE"])
    func unsafeNameIsRefused(raw: String) {
        #expect(throws: MSIXError.self) {
            let decoded = try PartName.percentDecode(raw)
            try PartName.validate(decoded, rawName: raw)
        }
    }

    @Test func encodedNamesDecode() throws {
        #expect(try PartName.percentDecode("Notepad%2B%2B/a%20b.txt") == "Notepad++/a b.txt")
        #expect(try PartName.percentDecode("%E0%A4%95.txt") == "\u{915}.txt")
        #expect(PartName.percentEncode("Notepad++/a b[1].txt") == "Notepad%2B%2B/a%20b%5B1%5D.txt")
        #expect(try PartName.percentDecode(PartName.percentEncode("ü ~x/ y%")) == "ü ~x/ y%")
    }

    @Test(arguments: [["a.txt", "A.TXT"], ["dir/x", "DIR/x"], ["a", "a/b"], ["A", "a/b"]])
    func collidingNamesAreRefused(names: [String]) {
        #expect(throws: MSIXError.self) { try PartName.checkCollisions(names) }
    }

    @Test func distinctNamesPass() throws {
        try PartName.checkCollisions(["a/b", "a/c", "b", "ab/c"])
    }

    /// A package whose ZIP holds `names` must be refused at open with an unsafe-name error.
    @Test(arguments: [["../evil.txt"], ["%2e%2e/evil.txt"], ["/abs.txt"], ["x%20y.txt", "x y.txt"], ["Readme.txt", "README.TXT"]])
    func packageWithUnsafeNamesIsRefused(names: [String]) throws {
        let directory = TestEnvironment.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/bad.msix"
        let writer = try ZipWriter(path: path)
        for name in names { try writer.add(name: name, bytes: Array("payload".utf8)) }
        try writer.finish()
        do {
            _ = try MSIXPackage.open(path)
            Issue.record("\(names) accepted")
        } catch {
            #expect(error.kind == .unsafeName, "\(error)")
            #expect(error.description.hasPrefix(path + ": "))
        }
    }
}
