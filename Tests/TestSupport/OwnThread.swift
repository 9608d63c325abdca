import Foundation
import LinuxSystem

extension TestEnvironment {
    /// Runs `body`, which blocks (stages in a loop, waits for a child process, measures), on a
    /// thread of its own and waits for it without holding a cooperative thread. It runs in the
    /// calling test's task, so `#expect` and `#require` inside it report to that test.
    public static func onOwnThread<T>(_ body: () throws -> T) async throws -> T {
        let executor = ThreadExecutor()
        defer { executor.stop() }
        return try await withTaskExecutorPreference(executor) { try body() }
    }
}
