import CommandSupport
import ArgumentParser
import Foundation
import Health
import Staging
import ControlProtocol

/// `appattachctl stage IMAGE`: attach and mount an image, expose its packages.
struct StageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stage",
        abstract: "Stage an image: map it read-only, mount it, expose its packages (root).",
        discussion: """
            The image is mounted ro,nosuid,nodev at /run/appattach/images/<image-id> (EROFS \
            straight from the file where the kernel allows it, otherwise on a loop device) and \
            each package at /run/appattach/packages/<PackageFullName>. Staging a staged image \
            again changes nothing and says so.
            """)

    @Argument(help: ArgumentHelp("A VHDX, VHD or EROFS image.", valueName: "image"))
    var image: String

    @OptionGroup var output: OutputOptions

    func run() throws {
        try Self.stage(image, json: output.json)
    }

    /// Stages `image` and prints what happened (shared with the direct dispatch in `AppAttachCtl`).
    static func stage(_ image: String, json: Bool) throws {
        let outcome = try Stage(paths: .current, mapper: ImageMapping.read).run(image)
        if json {
            print(try JSONOutput.encode(outcome.image))
            return
        }
        let staged = outcome.image
        var text: String
        switch outcome {
        case .staged: text = "staged \(staged.imagePath) as image \(staged.id) \(staged.loopDevice.map { "on \($0)" } ?? "straight from the file (no loop device)")\n"
        case .alreadyStaged: text = "already staged: \(staged.imagePath) is image \(staged.id)\n"
        }
        for package in staged.packages { text += "  \(package.fullName) at \(package.mountPoint)\n" }
        StandardStreams.write(text)
    }
}

/// `appattachctl destage IMAGE|PACKAGE`: unmount, unless something still runs from it.
struct DestageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destage",
        abstract: "Destage an image or one package (root); refused while in use.",
        discussion: """
            Takes an image file, an image id, or a PackageFullName. A package or image that a \
            process still uses is never unmounted lazily: the command names the processes and \
            leaves everything staged.
            """)

    @Argument(help: ArgumentHelp("An image file, image id or PackageFullName.", valueName: "image|package"))
    var target: String

    func run() throws {
        try Self.destage(target)
    }

    /// Destages `target` and prints what went (shared with the direct dispatch in `AppAttachCtl`).
    static func destage(_ target: String) throws {
        let outcome = try Destage(paths: .current).run(target)
        var text = ""
        for package in outcome.packages { text += "destaged package \(package)\n" }
        if let id = outcome.imageID { text += "destaged image \(id)\n" }
        StandardStreams.write(text)
    }
}

/// `appattachctl status`: what is staged, from the kernel's own tables.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show staged images and packages: backing file and loop device if any, mount point, size.",
        discussion: """
            Only reads: it changes nothing, and may run beside a stage or destage. After a \
            crash, `appattachctl repair` puts staging right.
            """)

    @OptionGroup var output: OutputOptions

    func run() throws {
        let status = StagingStatus.read(paths: .current)
        // The agent's view is added when it answers; the kernel's tables stay the base, so
        // status works with the agent stopped, or on a host without it.
        let agent = try? ControlClient(timeout: .seconds(2)).call(.status, StatusParameters(), as: StatusReply.self)
        if output.json {
            print(try JSONOutput.encode(StatusOutput(images: status.images, agent: agent)))
            return
        }
        print(status.text)
        if let agent { print(AgentStatusText.lines(agent).joined(separator: "\n")) }
    }
}

extension StagingPaths {
    /// `/run/appattach`, or `APPATTACH_RUNTIME_DIRECTORY` when set (tests and benchmarks use
    /// a directory of their own so they never touch a host's real state).
    static var current: StagingPaths {
        // getenv rather than ProcessInfo: this is on the path of every stage and destage, and
        // ProcessInfo copies the whole environment into a dictionary first.
        if let value = getenv("APPATTACH_RUNTIME_DIRECTORY"), value.pointee != 0 {
            return StagingPaths(runtime: String(cString: value))
        }
        return StagingPaths()
    }
}

/// Pretty, sorted JSON for `--json`.
enum JSONOutput {
    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// `status --json`: the kernel's images, and the agent's view when it answered.
struct StatusOutput: Encodable {
    var images: [StagingStatus.Image]
    var agent: StatusReply?
}

/// The agent's part of `status` for people.
enum AgentStatusText {
    static func lines(_ agent: StatusReply) -> [String] {
        var lines = ["agent: host pool \(agent.hostPool): \(agent.activePackages) active packages, \(agent.stagedImages) images staged"]
        if let problem = agent.hostPoolProblem { lines.append("  host pool file refused (last good one in force): \(problem)") }
        if let health = agent.health {
            lines.append("  health: \(health.summary)")
            for problem in health.problems { lines.append("    \(problem.package) (\(problem.image), \(problem.policy.rawValue)): \(problem.reason)") }
        }
        lines.append("  signed in: " + (agent.signedInUsers.isEmpty ? "nobody" : agent.signedInUsers.joined(separator: ", ")))
        for registration in agent.registrations {
            lines.append("  \(registration.user): \(registration.packageFullName) (\(registration.mode), \(registration.state))")
        }
        for refusal in agent.refusedPackages ?? [] {
            lines.append("  refused (not exposed): \(refusal.fullName) of image \(refusal.imageID): \(refusal.reason)")
        }
        for home in agent.unresponsiveHomes ?? [] {
            let next = home.nextAttempt.map { ", tried again \(ISO8601DateFormatter().string(from: $0))" } ?? ""
            lines.append("  home not answering: \(home.user) (uid \(home.uid), \(home.phase), since \(ISO8601DateFormatter().string(from: home.since))\(next)): \(home.reason)")
        }
        return lines
    }
}
