import Foundation
import Glibc
import Systemd
import Testing

/// sd_notify through a real datagram socket standing in for systemd's, and the watchdog
/// interval from the environment systemd sets. Serialized: it changes the process environment.
@Suite(.serialized) struct SystemdNotifierTests {
    /// A bound AF_UNIX datagram socket at a temporary path, exported as NOTIFY_SOCKET.
    final class FakeSystemd {
        let path = NSTemporaryDirectory() + "appattach-notify-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)

        init() throws {
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                raw.copyBytes(from: path.utf8.prefix(raw.count - 1))
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            try #require(fd >= 0 && bound == 0)
            // Generous: under a full parallel run on two cores, the task that sends may wait
            // seconds for a thread. A message that never comes still fails the test.
            var timeout = timeval(tv_sec: 15, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setenv("NOTIFY_SOCKET", path, 1)
        }

        func receive() -> String? {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            return n < 0 ? nil : String(decoding: buffer[..<n], as: UTF8.self)
        }

        deinit {
            unsetenv("NOTIFY_SOCKET")
            close(fd)
            unlink(path)
        }
    }

    @Test func notificationsReachTheSocket() throws {
        let systemd = try FakeSystemd()
        let notifier = SystemdNotifier()
        #expect(notifier.isEnabled)
        #expect(notifier.ready(status: "3 images staged\n2 users"))
        #expect(systemd.receive() == "READY=1\nSTATUS=3 images staged 2 users")
        #expect(notifier.watchdog())
        #expect(systemd.receive() == "WATCHDOG=1")
        #expect(notifier.extendTimeout(by: .seconds(90) + .milliseconds(5)))
        #expect(systemd.receive() == "EXTEND_TIMEOUT_USEC=90005000")
        #expect(notifier.stopping())
        #expect(systemd.receive() == "STOPPING=1")
    }

    @Test func withoutSystemdEverythingIsANoOp() {
        unsetenv("NOTIFY_SOCKET")
        let notifier = SystemdNotifier()
        #expect(!notifier.isEnabled)
        #expect(!notifier.ready())
        #expect(!notifier.status("x"))
        #expect(notifier.watchdogInterval == nil)
    }

    @Test func watchdogIntervalComesFromTheEnvironment() {
        defer { unsetenv("WATCHDOG_USEC"); unsetenv("WATCHDOG_PID") }
        setenv("WATCHDOG_USEC", "4000000", 1)
        setenv("WATCHDOG_PID", String(getpid()), 1)
        #expect(SystemdNotifier().watchdogInterval == .seconds(4))
        // A watchdog meant for another process (the unit's main PID is not us) is not ours.
        setenv("WATCHDOG_PID", String(getppid()), 1)
        #expect(SystemdNotifier().watchdogInterval == nil)
    }

    @Test func keepWatchdogAlivePingsAtHalfTheInterval() async throws {
        let systemd = try FakeSystemd()
        defer { unsetenv("WATCHDOG_USEC"); unsetenv("WATCHDOG_PID") }
        setenv("WATCHDOG_USEC", "200000", 1)
        setenv("WATCHDOG_PID", String(getpid()), 1)
        let pinger = Task { await SystemdNotifier().keepWatchdogAlive() }
        #expect(systemd.receive() == "WATCHDOG=1")
        #expect(systemd.receive() == "WATCHDOG=1")
        pinger.cancel()
        await pinger.value
    }
}
