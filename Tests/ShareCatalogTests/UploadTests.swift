import DiskImage
import Foundation
import Glibc
import LinuxSystem
import ShareCatalog
import Testing
import TestSupport

@Suite("upload")
struct UploadTests {
    @Test("a new image is copied into images/ and recorded with its digest, size and layout")
    func newImage() throws {
        let scratch = try ScratchShare()
        let source = try scratch.makeImage("app.erofs", seed: 1)
        let result = try scratch.upload().run(source, packages: ["Contoso.App_1.0.0.0_x64__8wekyb3d8bbwe"])
        #expect(result.outcome == .uploaded)
        // sha256sum is the independent reference for the digest.
        let expectedDigest = try TestEnvironment.run(["sha256sum", source]).output.split(separator: " ").first.map(String.init)
        #expect(result.entry == CatalogEntry(name: "app.erofs", sha256: try #require(expectedDigest), size: 1 << 20,
                                             container: .raw, filesystem: .erofs,
                                             packages: ["Contoso.App_1.0.0.0_x64__8wekyb3d8bbwe"],
                                             uploadedAt: Date(timeIntervalSince1970: 1_800_000_000), uploadedBy: "builder1"))
        #expect(FileManager.default.contentsEqual(atPath: source, andPath: scratch.share + "/images/app.erofs"))
        #expect(try scratch.catalog() == Catalog(images: [result.entry]))
        #expect(scratch.files() == ["catalog.json", "images/app.erofs"])
        #expect(result.text.hasPrefix("uploaded images/app.erofs (1048576 bytes, raw, erofs, sha256 \(result.entry.sha256))"))

        // The file format, as other tools and admins read it.
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: scratch.layout.catalog))) as? [String: Any]
        #expect(json?["format"] as? Int == 1)
        let entry = (json?["images"] as? [[String: Any]])?.first
        #expect(entry?["path"] as? String == "images/app.erofs")
        #expect(entry?["uploaded_at"] as? String == "2027-01-15T08:00:00Z")
        #expect(entry?["uploaded_by"] as? String == "builder1")
    }

    @Test("a VHDX is recorded with its container and the filesystem inside")
    func vhdx() throws {
        let scratch = try ScratchShare()
        let source = try scratch.makeImage("app.vhdx", seed: 2, size: 4 << 20)
        _ = try DiskImageWriter.wrapFilesystem(at: source, format: .vhdx)
        let result = try scratch.upload().run(source)
        #expect(result.entry.container == .vhdxFixed)
        #expect(result.entry.filesystem == .erofs)
        #expect(result.entry.size == (try OpenFile.openForReading(source).size()))
    }

    @Test("uploading the same bytes again is a no-op that says so")
    func identicalAgain() throws {
        let scratch = try ScratchShare()
        let source = try scratch.makeImage("app.erofs", seed: 3)
        let first = try scratch.upload().run(source)
        let catalogBefore = try Data(contentsOf: URL(fileURLWithPath: scratch.layout.catalog))
        let again = try ImageUpload(share: scratch.share, host: "builder2", now: { Date() }).run(source)
        #expect(again.outcome == .unchanged)
        #expect(again.entry == first.entry)
        #expect(again.text.contains("is already on the share with the same content"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.layout.catalog)) == catalogBefore)
        #expect(scratch.files() == ["catalog.json", "images/app.erofs"])
    }

    @Test("different bytes under an existing name are refused unless replacing")
    func differentBytes() throws {
        let scratch = try ScratchShare()
        let first = try scratch.makeImage("app.erofs", seed: 4)
        _ = try scratch.upload().run(first)
        let second = try scratch.makeImage("app-v2.erofs", seed: 5)
        #expect(throws: ShareCatalogError.self) { try scratch.upload().run(second, name: "app.erofs") }
        do {
            _ = try scratch.upload().run(second, name: "app.erofs")
        } catch {
            #expect("\(error)".hasPrefix("images/app.erofs: already holds a different image (sha256 "))
        }
        #expect(FileManager.default.contentsEqual(atPath: first, andPath: scratch.share + "/images/app.erofs"))
        #expect(scratch.files() == ["catalog.json", "images/app.erofs"])

        let replaced = try scratch.upload(replace: true).run(second, name: "app.erofs")
        #expect(replaced.outcome == .replaced)
        #expect(FileManager.default.contentsEqual(atPath: second, andPath: scratch.share + "/images/app.erofs"))
        #expect(try scratch.catalog().images == [replaced.entry])
    }

    @Test("a file on the share that the catalog does not know is not overwritten silently")
    func unknownFile() throws {
        let scratch = try ScratchShare()
        try FileManager.default.createDirectory(atPath: scratch.share + "/images", withIntermediateDirectories: true)
        try Data("by hand".utf8).write(to: URL(fileURLWithPath: scratch.share + "/images/app.erofs"))
        let source = try scratch.makeImage("app.erofs", seed: 6)
        #expect(throws: ShareCatalogError("images/app.erofs", "exists on the share but is not in the catalog; pass --replace to overwrite it")) {
            try scratch.upload().run(source)
        }
        #expect(try scratch.upload(replace: true).run(source).outcome == .replaced)
    }

    @Test("images a host could not stage are refused and nothing is written")
    func refused() throws {
        let scratch = try ScratchShare()
        // No filesystem: inspect reads it, but there is nothing to mount.
        let blank = scratch.dir + "/blank.img"
        try Data(count: 1 << 20).write(to: URL(fileURLWithPath: blank))
        #expect(throws: ShareCatalogError(blank, "cannot be staged: found no known filesystem, hosts mount erofs, ext4, squashfs")) {
            try scratch.upload().run(blank)
        }
        // Corrupt: a VHDX signature with nothing valid behind it, which inspect itself refuses.
        let corrupt = scratch.dir + "/corrupt.vhdx"
        var bytes = [UInt8](repeating: 0, count: 1 << 20)
        bytes.replaceSubrange(0..<8, with: Array("vhdxfile".utf8))
        try Data(bytes).write(to: URL(fileURLWithPath: corrupt))
        #expect(throws: DiskImageError.self) { try scratch.upload().run(corrupt) }
        #expect(scratch.files().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: scratch.share + "/images"))
    }

    @Test("bad names are refused", arguments: [
        ([".hidden"], "image name must not start with a dot (hidden names are for temporary files)"),
        (["Contoso.App_8wekyb3d8bbwe"], "is not a PackageFullName (Name_Version_Arch_ResourceId_PublisherId)"),
    ])
    func badNames(args: [String], reason: String) throws {
        let scratch = try ScratchShare()
        let source = try scratch.makeImage("app.erofs", seed: 7)
        do {
            if args[0].hasPrefix(".") {
                _ = try scratch.upload().run(source, name: args[0])
            } else {
                _ = try scratch.upload().run(source, packages: args)
            }
            Issue.record("expected a refusal")
        } catch let error as ShareCatalogError {
            #expect(error.reason == reason)
        }
        #expect(scratch.files().isEmpty)
    }

    @Test("a failure after copying leaves no temporary file and no half-made entry")
    func failureLeavesNothing() throws {
        let scratch = try ScratchShare()
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: scratch.layout.catalog))
        let source = try scratch.makeImage("app.erofs", seed: 8)
        #expect(throws: ShareCatalogError.self) { try scratch.upload().run(source) }
        #expect(scratch.files() == ["catalog.json"])

        // A catalog from a newer tool is left alone too.
        try Data(#"{"format": 2, "images": []}"#.utf8).write(to: URL(fileURLWithPath: scratch.layout.catalog))
        do {
            _ = try scratch.upload().run(source)
            Issue.record("expected a refusal")
        } catch {
            #expect("\(error)" == "\(scratch.layout.catalog): has format 2, newer than the 1 this appattachctl writes; use a newer appattachctl")
        }
        #expect(scratch.files() == ["catalog.json"])
        #expect(try String(contentsOfFile: scratch.layout.catalog, encoding: .utf8) == #"{"format": 2, "images": []}"#)
    }

    @Test("concurrent uploads are all recorded")
    func concurrent() throws {
        let scratch = try ScratchShare()
        let count = 8
        let sources = try (0..<count).map { try scratch.makeImage("app\($0).erofs", seed: UInt8(10 + $0), size: 256 << 10) }
        let errors = ErrorBox()
        let share = scratch.share
        DispatchQueue.concurrentPerform(iterations: count) { n in
            do {
                _ = try ImageUpload(share: share, host: "builder\(n)", staleLockAfter: .seconds(30)).run(sources[n])
            } catch {
                errors.append("\(error)")
            }
        }
        #expect(errors.all.isEmpty)
        let catalog = try scratch.catalog()
        #expect(catalog.images.map(\.name) == (0..<count).map { "app\($0).erofs" })
        #expect(Set(catalog.images.map(\.uploadedBy)) == Set((0..<count).map { "builder\($0)" }))
        #expect(scratch.files() == ["catalog.json"] + (0..<count).map { "images/app\($0).erofs" })
    }

    @Test("an abandoned lock is taken over; a live one makes the upload wait, then give up")
    func locks() throws {
        let scratch = try ScratchShare()
        let source = try scratch.makeImage("app.erofs", seed: 20)
        try Data("owner=crashed pid=1 id=x\n".utf8).write(to: URL(fileURLWithPath: scratch.layout.lock))
        var upload = scratch.upload()
        upload.lockTimeout = .seconds(2)
        upload.staleLockAfter = .seconds(10)
        // The lock has not been seen unchanged long enough: the upload gives up, naming the holder.
        do {
            _ = try upload.run(source)
            Issue.record("expected the lock to stop the upload")
        } catch {
            #expect("\(error)".contains("the catalog is being updated by someone else (owner=crashed pid=1 id=x)"))
        }
        #expect(scratch.files() == [".catalog.lock"])

        upload.staleLockAfter = .milliseconds(200)
        #expect(try upload.run(source).outcome == .uploaded)
        #expect(scratch.files() == ["catalog.json", "images/app.erofs"])
    }
}

/// Collects errors from concurrent closures.
final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [String] = []
    func append(_ error: String) { lock.lock(); errors.append(error); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return errors }
}
