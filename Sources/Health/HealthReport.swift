import Foundation

/// A host's health with its reasons: what `appattachctl health` prints, the agent's status
/// answers and the host's report on the share carries.
public struct HealthReport: Sendable, Equatable, Codable {
    /// One package of the host pool that this host could not stage.
    public struct Problem: Sendable, Equatable, Codable {
        /// The package as the host-pool entry names it (family or full name).
        public var package: String
        /// The entry's image, as the host-pool file names it.
        public var image: String
        /// The entry's policy, which decides what the failure does to the host.
        public var policy: HealthPolicy
        /// Why, naming the file.
        public var reason: String
        /// When this failure was first seen (it has not been staged since).
        public var since: Date

        public init(package: String, image: String, policy: HealthPolicy, reason: String, since: Date) {
            self.package = package; self.image = image; self.policy = policy; self.reason = reason; self.since = since
        }

        /// What this failure makes of the host on its own.
        public var health: HostHealth { HostHealth(failureUnder: policy) }
    }

    /// The worst of the problems' policies.
    public var state: HostHealth
    /// Every package that failed, the ones that change nothing (`DoNotFail`) too, by package.
    public var problems: [Problem]

    public init(problems: [Problem]) {
        self.problems = problems.sorted { ($0.health, $1.package) > ($1.health, $0.package) }
        state = problems.map(\.health).max() ?? .healthy
    }

    /// One line: the state, and what made it when it is not healthy.
    public var summary: String {
        let counted = problems.filter { $0.health == state }
        guard state != .healthy else {
            return problems.isEmpty ? "Healthy" : "Healthy (\(problems.count) package(s) failed under DoNotFail)"
        }
        let names = counted.prefix(3).map(\.package).joined(separator: ", ") + (counted.count > 3 ? ", …" : "")
        return "\(state.rawValue): \(counted.count) package(s) not staged (\(names))"
    }
}
