import Foundation
import Glibc
import LinuxSystem
import Staging
import Testing
import TestSupport

/// Stage, destage and reconcile take one lock against each other, across threads and
/// processes, and wait for it only so long.
@Suite("staging lock (root: loop devices, mounts)", .serialized, .tags(.attachesLoopDevices, .mounts),
       .enabled(if: TestEnvironment.hasLoopDevices, "needs root and /dev/loop-control"),
       .enabled(if: TestEnvironment.hasTool("mkfs.erofs"), "needs mkfs.erofs"),
       .enabled(if: TestEnvironment.hasTool("python3"), "needs python3 to hold the lock from another process"))
struct StagingLockTests {
    /// A process of its own (not appattach's code: a `flock(2)` from Python) holding the
    /// staging lock of `paths` until killed.
    static func holdLock(_ paths: StagingPaths) throws -> Process {
        mkdir(paths.runtime, 0o755)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["python3", "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); time.sleep(60)",
                            StagingLock.path(paths)]
        try holder.run()
        // Held once taking it without waiting fails.
        for _ in 0..<500 {
            if (try? StagingLock.acquire(paths, timeout: .zero, purpose: "probe")) == nil { return holder }
            usleep(10_000)
        }
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        throw TestFailure("python3 did not take \(StagingLock.path(paths))")
    }

    @Test("a holder in another process makes stage, destage and repair give up within their bound, naming its pid")
    func boundedWaitNamesTheHolder() async throws {
        try await TestEnvironment.onOwnThread {
            let host = try ScratchHost()
            let holder = try Self.holdLock(host.paths)
            defer { kill(holder.processIdentifier, SIGKILL); holder.waitUntilExit() }
            let bound = Duration.milliseconds(300)
            let attempts: [(String, () throws -> Void)] = [
                ("stage", { _ = try Stage(paths: host.paths, lockTimeout: bound, mapper: host.mapper).run(host.image) }),
                ("destage", { _ = try Destage(paths: host.paths, lockTimeout: bound).run(host.image) }),
                ("repair", { _ = try Reconcile(paths: host.paths, lockTimeout: bound).run() }),
            ]
            for (what, attempt) in attempts {
                let started = ContinuousClock.now
                let error = #expect(throws: StagingError.self, "\(what)") { try attempt() }
                #expect(error?.description == "cannot take the staging lock \(host.paths.runtime)/staging.lock within 0.3 s: pid \(holder.processIdentifier) (python3) holds it; try again once it has finished")
                let waited = ContinuousClock.now - started
                #expect(waited >= bound && waited < .seconds(2), "\(what) waited \(waited)")
            }
            #expect(host.mounts.isEmpty, "nothing was staged behind the holder's back")

            // The kernel lets the lock go with its holder, `kill -9` included.
            kill(holder.processIdentifier, SIGKILL)
            holder.waitUntilExit()
            let image = try Stage(paths: host.paths, lockTimeout: bound, mapper: host.mapper).run(host.image).image
            _ = try Destage(paths: host.paths, lockTimeout: bound).run(image.id)
        }
    }

    @Test("while held, the lock file names the holder and what it does; waiting names it too")
    func holderDescribesItself() throws {
        let host = try ScratchHost()
        let lock = try StagingLock.acquire(host.paths, timeout: .zero, purpose: "stage /srv/x.vhdx")
        let text = try String(contentsOfFile: StagingLock.path(host.paths), encoding: .utf8)
        #expect(text == "\(getpid()) stage /srv/x.vhdx\n")
        #expect(Self.mode(StagingLock.path(host.paths)) == 0o600)
        // Another open file description of the same process is another holder: threads exclude
        // each other as processes do.
        let error = #expect(throws: StagingError.self) { _ = try StagingLock.acquire(host.paths, timeout: .milliseconds(50), purpose: "second") }
        #expect(error?.description.contains("pid \(getpid()) (") == true)
        #expect(error?.description.hasSuffix("holds it: stage /srv/x.vhdx; try again once it has finished") == true, "\(String(describing: error))")
        lock.release()
        try StagingLock.acquire(host.paths, timeout: .zero, purpose: "third").release()
    }

    static func mode(_ path: String) -> mode_t? { lstatus(path).map { $0.st_mode & 0o7777 } }

    @Test("a repair takes only its own tree's loop devices for leftovers: another tree's stage holds another lock")
    func repairKeepsToItsTree() throws {
        let host = try ScratchHost()
        let other = StagingPaths(runtime: host.dir + "/other-run")
        #expect(host.paths.loopTag("0123456789abcdef0123") != other.loopTag("0123456789abcdef0123"))
        #expect(StagingPaths().loopTag("0123456789abcdef0123") == "appattach:0123456789abcdef0123", "a host's tags are as before")
        // Another tree's stage between its attach and its mount.
        let device = try LoopDevice.attach(backingFile: host.image, .init(tag: other.loopTag("0123456789abcdef0123")))
        defer { device.detach() }
        #expect(!(try Reconcile(paths: host.paths).run()).contains { $0.contains(device.path) }, "not this tree's")
        #expect(try Reconcile(paths: other).run().contains("detached unused \(device.path) (\(host.image))"), "its own tree's repair takes it")
    }

    @Test("repairs in a loop beside 50 stages and destages on loop devices detach nothing mid-stage")
    func repairBesideStaging() async throws {
        try await TestEnvironment.onOwnThread {
            let host = try ScratchHost()
            // Loop devices: their attach comes before the mount, the moment a repair without the
            // lock would take for an interrupted stage and detach.
            let stage = Stage(paths: host.paths, fileBackedEROFS: false, mapper: host.mapper)
            let stop = Shared(false)
            let repairs = Shared(0)
            let paths = host.paths
            let repairer = Thread {
                while !stop.value {
                    if (try? Reconcile(paths: paths).run()) != nil { repairs.add(1) }
                }
            }
            repairer.start()
            var failures: [String] = []
            for cycle in 0..<50 {
                do {
                    let image = try stage.run(host.image).image
                    if host.mounts.count != 3 { failures.append("cycle \(cycle): \(host.mounts.count) mounts after the stage") }
                    if image.loopDevice == nil || !host.loopDevices.contains(where: { $0.path == image.loopDevice }) {
                        failures.append("cycle \(cycle): the loop device \(image.loopDevice ?? "none") is gone")
                    }
                    _ = try Destage(paths: host.paths).run(image.id)
                } catch {
                    failures.append("cycle \(cycle): \(error)")
                }
            }
            stop.value = true
            while !repairer.isFinished { usleep(1_000) }
            #expect(failures.isEmpty, "\(failures)")
            #expect(repairs.value > 10, "the repairs ran: \(repairs.value)")
            #expect(host.mounts.isEmpty)
            #expect(waitUntil { host.loopDevices.isEmpty })
            #expect(StagingRecords(paths: host.paths).all().isEmpty)
        }
    }
}

/// A value shared between the test and its thread.
final class Shared<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

extension Shared where T == Int {
    func add(_ n: Int) { lock.withLock { stored += n } }
}
