import Foundation
import Glibc
import Testing

/// scripts/test-logind from `swift test`: the Systemd module against real systemd, logind and
/// journald in an nspawn container. It boots a container and signs users in and out (about
/// 30 s with the root file system cached, minutes without), so it runs only when asked.
@Suite(.serialized) struct TestbedLogindTests {
    static let optedIn = ProcessInfo.processInfo.environment["APPATTACH_TESTBED_TESTS"] == "1"
    static let projectRoot = "/" + #filePath.split(separator: "/").dropLast(3).joined(separator: "/")

    @Test(.enabled(if: geteuid() == 0, "needs root: it boots a systemd-nspawn container"),
          .enabled(if: optedIn, "set APPATTACH_TESTBED_TESTS=1 to boot the test bed (scripts/test-logind)"))
    func logindProbeInTheTestBed() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.projectRoot + "/scripts/test-logind")
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        print(text)
        let summary = text.split(separator: "\n").last.map(String.init) ?? ""
        #expect(process.terminationStatus == 0, "\(summary)")
        #expect(summary.hasSuffix(" passed, 0 failed"), "\(summary)")
        #expect(!summary.hasPrefix("0 passed"), "nothing ran: \(text.split(separator: "\n").first ?? "")")
    }
}
