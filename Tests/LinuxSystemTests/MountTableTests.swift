import LinuxSystem
import Testing

@Suite("mount table")
struct MountTableTests {
    @Test("mountinfo lines parse, with octal escapes and optional fields")
    func parse() {
        let text = """
            36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 - ext3 /dev/root rw,errors=continue
            412 30 7:3 / /run/appattach/images/abc ro,nosuid,nodev - erofs /dev/loop3 ro,user_xattr,acl
            garbage line
            """
        let entries = MountTable.parse(text)
        #expect(entries.count == 2)
        #expect(entries[0].mountPoint == "/mnt/with space")
        #expect(entries[0].root == "/mnt1")
        #expect(entries[0].filesystemType == "ext3")
        #expect(entries[1].source == "/dev/loop3")
        #expect(entries[1].options == ["ro", "nosuid", "nodev"])
        #expect(entries[1].device == "7:3")
    }

    @Test("this process's own mount table has a root mount")
    func readsOwnTable() throws {
        let entries = try MountTable.read()
        #expect(entries.contains { $0.mountPoint == "/" })
    }
}

@Suite("access control lists")
struct AccessControlListTests {
    @Test("valid text is accepted, invalid text refused")
    func validation() throws {
        _ = try AccessControlList("u::r-x,g::---,g:4:r-x,m::r-x,o::---")
        #expect(throws: SystemCallError.self) { try AccessControlList("u::r-x,g:4:r-x,o::---") }  // no mask
        #expect(throws: SystemCallError.self) { try AccessControlList("nonsense") }
    }
}
