import Foundation
import Health
import HostPool

/// A host pool seen from the share: every host that reports in it, how old its report is
/// (a host silent for longer than `staleAfter` is stale, whatever it last said), its health and
/// what it serves; and for each package of the pool, which hosts have it staged and which failed.
public struct FleetView: Codable, Sendable, Equatable {
    /// One host's line.
    public struct Host: Codable, Sendable, Equatable {
        public var host: String
        public var reportedAt: Date
        public var ageSeconds: Int
        /// Silent for longer than the view's `staleAfterSeconds`: not to be taken as healthy.
        public var stale: Bool
        /// What the host last said.
        public var health: HostHealth
        public var agentVersion: String
        /// Whether the host applied the host-pool file as it is on the share now.
        public var hostPoolCurrent: Bool
        public var hostPoolProblem: String?
        public var packages: [HostReport.Package]
        public var signedInUsers: Int
        public var registeredUsers: Int
    }

    /// One host serving a package.
    public struct Serving: Codable, Sendable, Equatable {
        public var host: String
        public var fullName: String
        public var users: Int
    }

    /// One host that could not stage a package.
    public struct Failure: Codable, Sendable, Equatable {
        public var host: String
        public var reason: String
    }

    /// One `[[package]]` of the pool.
    public struct Package: Codable, Sendable, Equatable {
        /// The entry's package (family or full name) and image, as the file says.
        public var package: String
        public var image: String
        public var state: PackageState
        public var health: HealthPolicy
        public var stagedOn: [Serving]
        public var failedOn: [Failure]
        /// Fresh hosts that neither serve it nor report a failure (active entries only): they
        /// have not applied the file yet, or stage it only at a sign-in.
        public var notYetOn: [String]
    }

    /// A file in `hosts/` that is not a report.
    public struct Unreadable: Codable, Sendable, Equatable {
        public var file: String
        public var reason: String
    }

    public var pool: String
    public var generatedAt: Date
    public var staleAfterSeconds: Int
    public var hosts: [Host]
    public var packages: [Package]
    public var unreadable: [Unreadable]

    /// The view of `pool` from `entries` (the share's `hosts/`) and the pool's file as it is
    /// now (`definition`, and its modification time), at `now`.
    public init(pool: String, entries: [HostReportDirectory.Entry], definition: HostPoolDefinition?,
                hostPoolModified: Date?, now: Date = Date(), staleAfter: TimeInterval) {
        self.pool = pool
        generatedAt = now
        staleAfterSeconds = Int(staleAfter)
        var reports: [HostReport] = []
        var unreadable: [Unreadable] = []
        for entry in entries {
            switch entry.report {
            case .success(let report) where report.pool == pool: reports.append(report)
            case .success: continue
            case .failure(let error): unreadable.append(Unreadable(file: entry.file, reason: error.description))
            }
        }
        self.unreadable = unreadable
        hosts = reports.sorted { $0.host < $1.host }.map { report in
            let age = max(0, now.timeIntervalSince(report.reportedAt))
            return Host(host: report.host, reportedAt: report.reportedAt, ageSeconds: Int(age), stale: age > staleAfter,
                        health: report.health.state, agentVersion: report.agentVersion,
                        hostPoolCurrent: report.hostPool.map { applied in
                            hostPoolModified.map { abs(applied.modified.timeIntervalSince($0)) < 0.001 } ?? true
                        } ?? false,
                        hostPoolProblem: report.hostPoolProblem, packages: report.images.flatMap(\.packages).sorted { $0.fullName < $1.fullName },
                        signedInUsers: report.signedInUsers, registeredUsers: report.registeredUsers)
        }
        let fresh = Set(hosts.filter { !$0.stale }.map(\.host))
        packages = (definition?.packages ?? []).map { entry in
            var serving: [Serving] = []
            var failures: [Failure] = []
            for report in reports.sorted(by: { $0.host < $1.host }) {
                for image in report.images where image.image == entry.image {
                    for package in image.packages where entry.package.matches(fullName: package.fullName) {
                        serving.append(Serving(host: report.host, fullName: package.fullName, users: package.users))
                    }
                }
                for problem in report.health.problems where problem.package == "\(entry.package)" && problem.image == entry.image {
                    failures.append(Failure(host: report.host, reason: problem.reason))
                }
            }
            let accounted = Set(serving.map(\.host) + failures.map(\.host))
            let notYet = entry.state == .active ? fresh.subtracting(accounted).sorted() : []
            return Package(package: "\(entry.package)", image: entry.image, state: entry.state, health: entry.health,
                           stagedOn: serving, failedOn: failures, notYetOn: notYet)
        }
    }

    /// Hosts that are stale, unhealthy or need assistance: what an admin looks at first.
    public var hostsInTrouble: [Host] { hosts.filter { $0.stale || $0.health != .healthy } }

    /// The view for people.
    public var text: String {
        var lines = ["host pool \(pool): \(hosts.count) host(s), \(hosts.filter(\.stale).count) stale (no report for \(staleAfterSeconds / 60) min), \(hostsInTrouble.count) in trouble"]
        for host in hosts {
            let health = host.stale ? "STALE (last said \(host.health.rawValue))" : host.health.rawValue
            let pool = host.hostPoolProblem.map { "file refused: \($0)" } ?? (host.hostPoolCurrent ? "current" : "behind")
            lines.append("  \(host.host): \(health), report \(Self.age(host.ageSeconds)) old, agent \(host.agentVersion), pool \(pool), \(host.signedInUsers) signed in, \(host.registeredUsers) registered, \(host.packages.count) package(s)")
        }
        for package in packages {
            lines.append("  \(package.package) (\(package.image), \(package.state.rawValue), \(package.health.rawValue)):")
            let staged = package.stagedOn.map { "\($0.host) \(Self.version($0.fullName)) (\($0.users) users)" }
            lines.append("    staged on: " + (staged.isEmpty ? "none" : staged.joined(separator: ", ")))
            for failure in package.failedOn { lines.append("    failed on \(failure.host): \(failure.reason)") }
            if !package.notYetOn.isEmpty { lines.append("    not yet on: " + package.notYetOn.joined(separator: ", ")) }
        }
        for file in unreadable { lines.append("  unreadable report \(HostReportDirectory.name)/\(file.file): \(file.reason)") }
        return lines.joined(separator: "\n")
    }

    static func age(_ seconds: Int) -> String {
        seconds < 120 ? "\(seconds) s" : seconds < 7_200 ? "\(seconds / 60) min" : "\(seconds / 3_600) h"
    }

    /// The version part of a PackageFullName.
    static func version(_ fullName: String) -> String {
        let parts = fullName.split(separator: "_", omittingEmptySubsequences: false)
        return parts.count == 5 ? String(parts[1]) : fullName
    }
}
