import Fleet
import Foundation
import Glibc
import HostPool
import ProductVersion

/// This host's report on the share (`HostReport`): built on the loop when what it says changed
/// (looked at every `hostReportInterval`) and at least every `hostReportRefresh`, written by
/// `HostReportWriter` off the loop.
extension AgentCore {
    /// What the report says, in a form that is cheap to compare: the report is built only
    /// when this changes (or when it is due anyway).
    struct HostReportKey: Equatable {
        var packagesChanged: Int
        var health: HealthKey
        var registered: Int
        var signedIn: Int
        var appliedAt: ContinuousClock.Instant?
        var problem: String?
        struct HealthKey: Equatable {
            var problems: [String]
        }
    }

    var hostReportKey: HostReportKey {
        HostReportKey(packagesChanged: stager.packagesChanged,
                      health: .init(problems: health.report.problems.map { "\($0.package)\u{0}\($0.image)\u{0}\($0.policy)\u{0}\($0.reason)" }),
                      registered: registered.count, signedIn: tracker.signedIn.count,
                      appliedAt: hostPool.applied?.at, problem: hostPool.problem.map { "\($0)" })
    }

    /// Submits a new report when anything in it changed, or when the last is `hostReportRefresh` old.
    func reportHostIfDue(now: ContinuousClock.Instant = .now) {
        guard let writer = hostReportWriter else { return }
        let key = hostReportKey
        if key == lastHostReport?.key, let at = lastHostReport?.at, now - at < settings.hostReportRefresh { return }
        writer.submit(makeHostReport())
        lastHostReport = (key, now)
    }

    /// The report as of now.
    func makeHostReport() -> HostReport {
        let registrations = (try? database.allRegistrations()) ?? []
        let users = Dictionary(grouping: registrations, by: \.packageFullName).mapValues(\.count)
        let byImage = Dictionary(grouping: stager.packages.values, by: \.imageID)
        let share = settings.config.share.path + "/"
        let images = byImage.keys.sorted().map { id in
            let packages = (byImage[id] ?? []).sorted { $0.fullName < $1.fullName }
            let path = packages.first?.imagePath ?? ""
            return HostReport.Image(id: id, image: path.hasPrefix(share) ? String(path.dropFirst(share.count)) : path,
                                    packages: packages.map { .init(fullName: $0.fullName, users: users[$0.fullName] ?? 0) })
        }
        let applied = hostPool.applied.map { applied in
            HostReport.AppliedHostPool(modified: Self.date(applied.version.modified), size: applied.version.size,
                                       appliedAt: Self.date(applied.wallClock))
        }
        return HostReport(host: settings.hostName, agentVersion: ProductVersion.current, pool: settings.config.pool,
                          health: health.report, hostPool: applied, hostPoolProblem: hostPool.problem.map { "\($0)" },
                          images: images, signedInUsers: tracker.signedIn.count, registeredUsers: registered.count,
                          reportedAt: Date())
    }

    static func date(_ time: timespec) -> Date {
        Date(timeIntervalSince1970: Double(time.tv_sec) + Double(time.tv_nsec) / 1e9)
    }
}
