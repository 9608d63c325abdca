import Foundation
import Glibc
import Testing
import TestSupport

/// A file system to put a test user's home on that lacks what a home on ext4 has: user
/// extended attributes (all of them), and for the FAT family symbolic links and modes too.
/// Only those this machine can mount are offered (`available`).
struct HomeFileSystem: Sendable, CustomTestStringConvertible {
    enum Kind: String, Sendable {
        /// In the kernel, always there: no user extended attributes; links and modes kept.
        case ramfs
        /// vfat from dosfstools' mkfs.vfat on a loop device, where the kernel has vfat.
        case vfat
        /// exFAT through FUSE (exfatprogs, exfat-fuse) on a loop device: no links, no
        /// attributes, modes ignored, and no `renameat2` flags (as NFS).
        case exfatFUSE = "exfat (FUSE)"
    }

    let kind: Kind
    var testDescription: String { kind.rawValue }
    /// Whether the file system stores symbolic links.
    var keepsLinks: Bool { kind == .ramfs }
    /// Whether it keeps the modes it is given.
    var keepsModes: Bool { kind == .ramfs }

    /// The file systems this machine can mount for the test.
    static var available: [HomeFileSystem] {
        var kinds: [Kind] = [.ramfs]
        if TestEnvironment.hasLoopDevices && TestEnvironment.hasTool("mkfs.vfat") && kernelHasVFAT { kinds.append(.vfat) }
        if TestEnvironment.hasLoopDevices && TestEnvironment.hasTool("mkfs.exfat") && TestEnvironment.hasTool("mount.exfat-fuse")
            && access("/dev/fuse", R_OK | W_OK) == 0 {
            kinds.append(.exfatFUSE)
        }
        return kinds.map(HomeFileSystem.init)
    }

    /// vfat built in, or a module the kernel can load.
    static var kernelHasVFAT: Bool {
        let filesystems = (try? String(contentsOfFile: "/proc/filesystems", encoding: .utf8)) ?? ""
        if filesystems.split(separator: "\n").contains(where: { $0.hasSuffix("\tvfat") }) { return true }
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return FileManager.default.fileExists(atPath: "/lib/modules/\(release)/kernel/fs/fat")
    }

    /// Mounts a fresh file system of this kind over `user`'s home (the user's, mode 0700);
    /// images go into `scratch`. `unmount()` the result in a `defer`.
    func mount(over user: TestUser, scratch: String) throws -> MountedHome {
        let home = user.home, uid = user.account.uid, gid = user.account.gid
        let mounted = MountedHome(home: home)
        switch kind {
        case .ramfs:
            try Self.run(["mount", "-t", "ramfs", "-o", "mode=0700", "ramfs", home])
            mounted.mounted = true
            try Self.run(["chown", "\(uid):\(gid)", home])
        case .vfat, .exfatFUSE:
            let image = scratch + "/home-\(uid).img"
            try Self.run(["truncate", "-s", "64M", image])
            try Self.run(kind == .vfat ? ["mkfs.vfat", image] : ["mkfs.exfat", image])
            let loop = try Self.run(["losetup", "--find", "--show", image]).trimmingCharacters(in: .whitespacesAndNewlines)
            mounted.loopDevice = loop
            let options = "uid=\(uid),gid=\(gid),umask=077"
            if kind == .vfat {
                try Self.run(["mount", "-t", "vfat", "-o", options, loop, home])
            } else {
                // The FUSE server stays: it must inherit none of this process's descriptors
                // (Foundation's `Process` sees a child end when a socket it hands it closes).
                try Self.run(["python3", "-c", Self.detachedRun, "mount.exfat-fuse", "-o", "allow_other," + options, loop, home])
            }
            mounted.mounted = true
        }
        return mounted
    }

    /// Runs its arguments as a command with no descriptor of ours but a file for its errors,
    /// which it prints: for commands that leave a daemon behind.
    static let detachedRun = """
        import subprocess, sys, tempfile
        errors = tempfile.TemporaryFile()
        done = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors, close_fds=True)
        errors.seek(0)
        sys.stdout.write(errors.read().decode(errors="replace"))
        sys.exit(done.returncode)
        """

    @discardableResult
    static func run(_ argv: [String]) throws -> String {
        let result = try TestEnvironment.run(argv)
        guard result.status == 0 else { throw TestFailure("\(argv.joined(separator: " ")): \(result.output)") }
        return result.output
    }
}

/// A file system mounted over a home, and its loop device.
final class MountedHome {
    let home: String
    var mounted = false
    var loopDevice: String?

    init(home: String) { self.home = home }

    /// Unmounts and detaches (a loop device still held by a FUSE server going away is detached
    /// by the kernel when it lets go).
    func unmount() {
        if mounted {
            for _ in 0..<50 {
                if umount2(home, 0) == 0 || errno == EINVAL { break }
                usleep(100_000)
            }
            mounted = false
        }
        if let loopDevice { _ = try? TestEnvironment.run(["losetup", "-d", loopDevice]) }
        loopDevice = nil
    }
}
