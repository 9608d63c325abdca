import Foundation
import Glibc
import LinuxSystem
@testable import Staging
import Testing
import TestSupport

@Suite("mapping cache: entries")
struct MappingCacheEntryTests {
    static let entry = MappingCache.Entry(
        identity: FileIdentity(device: 2049, inode: 1_234_567, size: 314_572_800,
                               modified: .init(seconds: 1_796_611_094, nanoseconds: 605_723_001),
                               changed: .init(seconds: 1_796_611_095, nanoseconds: 7)),
        mapping: ImageMapping(offset: 5 << 20, length: 300 << 20, filesystem: .erofs, blockSize: 4096, isBareFilesystem: false),
        id: "1c16066371d2c2888985")

    @Test("an entry reads back as written, with and without a block size")
    func roundTrip() {
        #expect(MappingCache.decode(MappingCache.encode(Self.entry)) == Self.entry)
        #expect(String(decoding: MappingCache.encode(Self.entry), as: UTF8.self)
            == "1 2049 1234567 314572800 1796611094 605723001 1796611095 7 5242880 314572800 erofs 4096 0 1c16066371d2c2888985\n")
        var negative = Self.entry
        negative.identity.modified = .init(seconds: -1, nanoseconds: 0)
        #expect(MappingCache.decode(MappingCache.encode(negative)) == negative)
        var bare = Self.entry
        bare.mapping = ImageMapping(offset: 0, length: 4096, filesystem: .squashfs, blockSize: nil, isBareFilesystem: true)
        #expect(MappingCache.decode(MappingCache.encode(bare)) == bare)
    }

    static var text: String { String(decoding: MappingCache.encode(entry), as: UTF8.self) }

    @Test("damaged or foreign entries are not used", arguments: [
        "", "\n", "1 2 3\n", "2" + String(text.dropFirst()), text + text, text.replacingOccurrences(of: " ", with: "  "),
        text.replacingOccurrences(of: " erofs ", with: " ntfs "),
        text.replacingOccurrences(of: "1c16066371d2c2888985", with: "../../etc/passwd"),
        text.replacingOccurrences(of: " 5242880 ", with: " -5 "),
        text.replacingOccurrences(of: " 2049 ", with: " 99999999999999999999999 "),
        text.replacingOccurrences(of: " 4096 0 ", with: " 4096 2 "),
    ])
    func damaged(text: String) {
        #expect(MappingCache.decode(Array(text.utf8)) == nil)
    }

    @Test("lookup finds an entry only for the same file in the same state")
    func lookup() throws {
        let dir = TestEnvironment.makeTemporaryDirectory("mappings")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cache = MappingCache(paths: StagingPaths(runtime: dir))
        try #require(mkdir(dir + "/mappings", 0o700) == 0 || errno == EEXIST)
        cache.store("/srv/share/app.vhdx", Self.entry)
        #expect(cache.lookup("/srv/share/app.vhdx", identity: Self.entry.identity) == Self.entry)
        #expect(cache.lookup("/srv/share/other.vhdx", identity: Self.entry.identity) == nil)
        var changed = Self.entry.identity
        changed.changed.nanoseconds += 1
        #expect(cache.lookup("/srv/share/app.vhdx", identity: changed) == nil, "written to since")
        var replaced = Self.entry.identity
        replaced.inode += 1
        #expect(cache.lookup("/srv/share/app.vhdx", identity: replaced) == nil, "another file at the path")
        cache.remove("/srv/share/app.vhdx")
        #expect(cache.lookup("/srv/share/app.vhdx", identity: Self.entry.identity) == nil)
    }
}

@Suite("mapping cache: staging (root: loop devices, mounts)", .serialized, .tags(.attachesLoopDevices, .mounts),
       .enabled(if: TestEnvironment.hasLoopDevices, "needs root and /dev/loop-control"),
       .enabled(if: TestEnvironment.hasTool("mkfs.erofs"), "needs mkfs.erofs"))
struct MappingCacheStagingTests {
    /// A stage that fails the test if it reads the image's mapping.
    func stageWithoutReading(_ host: ScratchHost) -> Stage {
        let mapper = host.mapper
        return Stage(paths: host.paths, mapper: { path in
            Issue.record("\(path): the mapping was read, not taken from the cache")
            return try mapper(path)
        })
    }

    @Test("an image staged before, unchanged, is staged again without reading its mapping")
    func reused() throws {
        let host = try ScratchHost()
        let first = try host.stage.run(host.image).image
        _ = try Destage(paths: host.paths).run(host.image)
        guard case .staged(let again) = try stageWithoutReading(host).run(host.image) else {
            Issue.record("expected a new stage"); return
        }
        #expect(again.id == first.id && again.mapping == first.mapping)
        #expect(again.packages.map(\.fullName) == ScratchHost.packageNames)
        _ = try Destage(paths: host.paths).run(host.image)
    }

    @Test("a changed image is read again")
    func changedImage() throws {
        let host = try ScratchHost()
        _ = try host.stage.run(host.image)
        _ = try Destage(paths: host.paths).run(host.image)
        // A write that leaves the bytes as they were still changes the file's change time.
        let fd = open(host.image, O_WRONLY)
        try #require(fd >= 0)
        let original = try OpenFile.openForReading(host.image).read(count: 1, at: 0)
        #expect(pwrite(fd, original, 1, 0) == 1)
        close(fd)
        let reads = ReadCounter()
        let mapper = host.mapper
        let stage = Stage(paths: host.paths, mapper: { path in reads.add(); return try mapper(path) })
        _ = try stage.run(host.image)
        #expect(reads.count == 1)
        _ = try Destage(paths: host.paths).run(host.image)
    }

    @Test("a remembered mapping that does not mount is forgotten, and the image read again")
    func wrongEntry() throws {
        let host = try ScratchHost()
        let first = try host.stage.run(host.image).image
        _ = try Destage(paths: host.paths).run(host.image)
        let cache = MappingCache(paths: host.paths)
        let identity = try OpenFile.openForReading(host.image).identity()
        var wrong = try #require(cache.lookup(host.image, identity: identity))
        wrong.mapping = ImageMapping(offset: 4096, length: wrong.mapping.length - 4096, filesystem: .erofs,
                                     blockSize: 4096, isBareFilesystem: false)
        cache.store(host.image, wrong)
        let reads = ReadCounter()
        let mapper = host.mapper
        let stage = Stage(paths: host.paths, mapper: { path in reads.add(); return try mapper(path) })
        let staged = try stage.run(host.image).image
        #expect(reads.count == 1)
        #expect(staged.mapping == first.mapping && staged.id == first.id)
        #expect(cache.lookup(host.image, identity: identity)?.mapping == first.mapping, "the entry is made again")
        _ = try Destage(paths: host.paths).run(host.image)
        #expect(host.mounts.isEmpty)
        #expect(waitUntil { host.loopDevices.isEmpty })
    }
}

/// Counts calls from a `@Sendable` closure.
final class ReadCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func add() { lock.lock(); value += 1; lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return value }
}
