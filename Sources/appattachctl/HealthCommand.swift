import ArgumentParser
import CommandSupport
import ControlProtocol
import Foundation
import Health

/// `appattachctl health [--json]`: the host's health as the agent sees it, for a session
/// broker's or load balancer's probe: exit status 0 Healthy, 1 NeedsAssistance, 2 Unhealthy.
struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Show this host's health (Healthy, NeedsAssistance, Unhealthy) with a reason per package.",
        discussion: """
            A package of the host pool that this host cannot stage makes the host what its entry's \
            health key says: Unhealthy (send no new sessions here), NeedsAssistance (keep serving, \
            flag for an admin) or DoNotFail (logged only). The exit status is 0 for Healthy, 1 for \
            NeedsAssistance and 2 for Unhealthy; a host whose agent does not answer is Unhealthy, \
            since nobody who signs in gets apps. Any user may ask.
            """)

    @Option(name: .long, help: ArgumentHelp("How long to wait for the agent's answer.", valueName: "seconds"))
    var timeout: Int = 5

    @OptionGroup var output: OutputOptions

    /// `--json`: the state, the exit status and the problems, or why the agent did not answer.
    struct Output: Encodable {
        var state: HostHealth
        var exitStatus: Int32
        var problems: [HealthReport.Problem]
        var agentError: String?
    }

    func validate() throws {
        guard (1...300).contains(timeout) else { throw ValidationError("--timeout must be 1 to 300 seconds") }
    }

    func run() throws {
        let result: Output
        do {
            let reply = try ControlClient(timeout: .seconds(timeout)).call(.status, StatusParameters(), as: StatusReply.self)
            guard let report = reply.health else {
                throw ControlClientError("the agent is older than health reports (restart it after an upgrade)")
            }
            result = Output(state: report.state, exitStatus: report.state.exitStatus, problems: report.problems)
        } catch {
            result = Output(state: .unhealthy, exitStatus: HostHealth.unhealthy.exitStatus, problems: [],
                            agentError: "the agent does not answer: \(error)")
        }
        if output.json {
            print(try JSONOutput.encode(result))
        } else {
            print(Self.text(result))
        }
        throw ExitCode(result.exitStatus)
    }

    static func text(_ result: Output) -> String {
        if let error = result.agentError { return "\(result.state.rawValue): \(error)" }
        let report = HealthReport(problems: result.problems)
        var lines = [report.summary]
        let formatter = ISO8601DateFormatter()
        for problem in report.problems {
            let effect = problem.policy == .doNotFail ? "logged only" : problem.policy.rawValue
            lines.append("  \(problem.package) (image \(problem.image), \(effect), since \(formatter.string(from: problem.since))): \(problem.reason)")
        }
        return lines.joined(separator: "\n")
    }
}
