import Logging
import Systemd
import Testing

/// What the watcher does without logind; with logind, scripts/test-logind runs it for real.
@Suite struct LogindWatcherTests {
    static let logger = Logger(label: "test") { JournalLogHandler(label: $0, destination: .init(mode: .standardError)) }

    @Test func unreachableBusIsAClearError() async {
        await #expect {
            _ = try await LogindWatcher.start(busAddress: "unix:path=/nonexistent/appattach-test-bus", logger: Self.logger)
        } throws: { error in
            guard let error = error as? SystemdError else { return false }
            return error.call == "sd_bus_start" && error.description.hasPrefix("cannot connect to the bus at unix:path=")
        }
    }
}
