import Foundation
import MSIX
import Testing
import TestSupport

/// Times `unpack` against Info-ZIP's `unzip` on a package given by the environment.
@Suite struct UnpackBenchmark {
    static let package = ProcessInfo.processInfo.environment["APPATTACH_BENCH_PACKAGE"]

    @Test(.enabled(if: package != nil, "set APPATTACH_BENCH_PACKAGE to a package to time unpack against unzip"),
          .enabled(if: TestEnvironment.hasTool("unzip"), "needs unzip"))
    func unpackThroughputAgainstUnzip() throws {
        let package = try #require(Self.package)
        let work = TestEnvironment.makeTemporaryDirectory("bench")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let size = try #require(try FileManager.default.attributesOfItem(atPath: package)[.size] as? NSNumber).doubleValue

        var start = Date()
        #expect(try TestEnvironment.run(["unzip", "-qq", package, "-d", work + "/unzip"]).status == 0)
        let unzipSeconds = Date().timeIntervalSince(start)

        start = Date()
        let result = try MSIXPackage.open(package).unpack(into: work + "/ours")
        let oursSeconds = Date().timeIntervalSince(start)

        let megabytes = Double(result.bytes) / 1_048_576
        print(String(format: "unpack %.0f MiB (package %.0f MiB): unzip %.2f s (%.0f MiB/s), appattach %.2f s (%.0f MiB/s, %.2fx unzip's time)",
                     megabytes, size / 1_048_576, unzipSeconds, megabytes / unzipSeconds, oursSeconds, megabytes / oursSeconds,
                     oursSeconds / unzipSeconds))
        #expect(result.files > 0)
    }
}
