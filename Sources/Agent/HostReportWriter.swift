import Dispatch
import Fleet
import Foundation
import Logging

/// Writes this host's report to the share off the loop: the share may be slow or away, and a
/// write that hangs holds only this writer's thread. Reports that come while one is written
/// replace each other; only the newest is written next. A failure is logged once until the
/// reason changes or a write succeeds again.
final class HostReportWriter: @unchecked Sendable {
    private let directory: HostReportDirectory
    private let logger: Logger
    private let queue = DispatchQueue(label: "appattach.host-report")
    private let lock = NSLock()
    private var pending: HostReport?
    private var writing = false
    private var lastFailure: String?

    init(directory: HostReportDirectory, logger: Logger) {
        self.directory = directory
        self.logger = logger
    }

    /// Hands `report` over; returns at once.
    func submit(_ report: HostReport) {
        let start = lock.withLock {
            pending = report
            if writing { return false }
            writing = true
            return true
        }
        if start { queue.async { self.drain() } }
    }

    /// Whether a write is under way or waiting (tests wait for it to finish).
    var isBusy: Bool { lock.withLock { writing } }

    private func drain() {
        while let report = lock.withLock({ () -> HostReport? in
            let next = pending
            pending = nil
            if next == nil { writing = false }
            return next
        }) {
            write(report)
        }
    }

    private func write(_ report: HostReport) {
        do {
            try directory.write(report)
            let recovered = lock.withLock { () -> Bool in
                defer { lastFailure = nil }
                return lastFailure != nil
            }
            if recovered { logger.notice("this host's report is written to \(directory.path) again") }
        } catch {
            let reason = "\(error)"
            let isNew = lock.withLock { () -> Bool in
                defer { lastFailure = reason }
                return lastFailure != reason
            }
            if isNew {
                logger.warning("cannot write this host's report to \(directory.path) (the fleet view will show the host as stale; hosts need write access to the share's \(HostReportDirectory.name)/, or set share.report = false): \(reason)")
            }
        }
    }
}
