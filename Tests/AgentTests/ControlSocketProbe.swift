import Foundation
import Glibc
import Testing
import TestSupport
@testable import LinuxSystem

/// The built `control-socket-probe` (the real `ControlServer` in a process of its own) on a
/// socket in a scratch directory; `stop()` kills it by its pid and removes the directory.
final class ControlSocketProbe: @unchecked Sendable {
    let directory = TestEnvironment.makeTemporaryDirectory("probe")
    let socketPath: String
    let pid: pid_t
    private let process = Process()
    private let input = Pipe()

    /// Starts the probe with `arguments` after the socket path, and waits until it listens.
    init(arguments: [String]) throws {
        socketPath = directory + "/io.appattach.Manager"
        let binary = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            .deletingLastPathComponent().appendingPathComponent("control-socket-probe").path
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [socketPath] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = input
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        pid = process.processIdentifier
        var said = Data()
        while !said.contains(0x0A) {
            let more = output.fileHandleForReading.availableData
            if more.isEmpty { break }
            said += more
        }
        guard String(decoding: said, as: UTF8.self).hasPrefix("ready") else {
            stop()
            throw TestFailure("control-socket-probe did not start: \(String(decoding: said, as: UTF8.self))")
        }
    }

    /// Sends `line` on a new connection and returns the reply line (or "" when the probe
    /// closed without one) and how long it took; everything within 3 s.
    func call(_ line: String) throws -> (line: String, took: Duration) {
        let started = ContinuousClock.now
        let deadline = Deadline.after(.seconds(3))
        let socket = try UnixSocket.connect(to: socketPath, by: deadline)
        defer { socket.close() }
        // A refused connection was answered and closed at once: the write may find the end gone.
        try? socket.writeLine(line, by: deadline)
        let reply = try socket.readLine(limit: 1 << 20, by: deadline) ?? ""
        return (reply, ContinuousClock.now - started)
    }

    /// Has the probe answer the Register requests it holds.
    func release() {
        input.fileHandleForWriting.write(Data("release\n".utf8))
    }

    /// Kills the probe (by its pid) and removes its directory.
    func stop() {
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
