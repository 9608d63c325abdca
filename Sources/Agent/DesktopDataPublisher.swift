import Dispatch
import Foundation
import Logging
import MSIX
import Registration

/// Keeps the shared desktop data directory (`SharedDesktopData`) in step with the staged
/// packages, on a thread of its own: the loop hands over the packages whenever they change and
/// goes on; `update-mime-database` never runs in a loop turn nor in a sign-in. Requests that
/// come while a publish runs are folded into one more run with the latest set.
final class DesktopDataPublisher: @unchecked Sendable {
    private let data: SharedDesktopData
    private let logger: Logger
    private let queue = DispatchQueue(label: "appattach.desktop-data")
    private let lock = NSLock()
    private var pending: [PreparedIntegration]?
    private var running = false
    private let idle = DispatchGroup()

    init(_ data: SharedDesktopData, logger: Logger) {
        self.data = data
        self.logger = logger
    }

    /// Publishes `integrations` (one per package family) soon, after any publish under way.
    func request(_ integrations: [PreparedIntegration]) {
        lock.lock()
        defer { lock.unlock() }
        pending = integrations
        guard !running else { return }
        running = true
        idle.enter()
        queue.async { self.drain() }
    }

    /// Whether nothing is pending nor running.
    var isIdle: Bool {
        lock.lock()
        defer { lock.unlock() }
        return !running
    }

    /// Waits until nothing is pending nor running (tests; the agent never waits for it).
    func waitUntilIdle(timeout: Duration = .seconds(30)) -> Bool {
        idle.wait(timeout: .now() + .milliseconds(Int(timeout.components.seconds * 1000))) == .success
    }

    private func drain() {
        while true {
            lock.lock()
            guard let integrations = pending else {
                running = false
                lock.unlock()
                idle.leave()
                return
            }
            pending = nil
            lock.unlock()
            let started = ContinuousClock.now
            let outcome = data.publish(integrations)
            for problem in outcome.problems {
                logger.error("desktop data of staged packages: \(problem)", metadata: ["appattach.file": "\(data.directory)"])
            }
            if outcome.changed {
                logger.info("desktop data in \(data.directory): \(outcome.written.count) files written, \(outcome.removed.count) removed\(outcome.compiledMimeDatabase ? ", MIME database compiled" : "") in \(ContinuousClock.now - started)")
            }
        }
    }

    /// Of each package family staged, the integration of the highest version: the one a user
    /// is given when several are staged (an update on its way in).
    static func newestPerFamily(_ packages: some Collection<StagedPackageInfo>) -> [PreparedIntegration] {
        var newest: [String: (parts: [UInt16], package: StagedPackageInfo)] = [:]
        for package in packages {
            let parts = PackageIdentity.versionParts(package.manifest.identity.version) ?? []
            if let current = newest[package.familyName] {
                let newer = parts != current.parts ? current.parts.lexicographicallyPrecedes(parts) : package.fullName > current.package.fullName
                guard newer else { continue }
            }
            newest[package.familyName] = (parts, package)
        }
        return newest.keys.sorted().compactMap { newest[$0]?.package.integration }
    }
}
