import CommandSupport
import ArgumentParser
import Fleet
import Foundation
import HostPool

/// `appattachctl hostpool …`: work with host-pool files.
struct HostPoolCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hostpool",
        abstract: PublishingCommands.abstract("hostpool"),
        subcommands: [Check.self, Status.self, Add.self, Publish.self, Unpublish.self, Activate.self, Remove.self])

    /// `appattachctl hostpool check FILE`: validates a host-pool file and shows what it assigns.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a host-pool file and show its packages and whom they are published to.",
            discussion: """
                Names are resolved through NSS on this machine; a name unknown here may still \
                resolve on the session hosts. Exits non-zero with a file:line error when the \
                file would be refused by the hosts.
                """)

        @Argument(help: ArgumentHelp("The host-pool file (hostpools/<pool>.toml).", valueName: "file"))
        var file: String

        @Option(help: ArgumentHelp("Also show which packages this user (name or uid) gets.", valueName: "user"))
        var user: String?

        @OptionGroup var output: OutputOptions

        func run() throws {
            let definition = try HostPoolDefinition.load(path: file)
            let report = try HostPoolReport(definition: definition, file: file, user: user)
            if output.json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                FileHandle.standardOutput.write(try encoder.encode(report) + Data("\n".utf8))
            } else {
                FileHandle.standardOutput.write(Data(report.text.utf8))
            }
        }
    }

    /// `appattachctl hostpool status POOL --share PATH`: every host of the pool as its report on
    /// the share says, and each package's hosts.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show every host of a host pool, its health and what it serves, from the hosts' reports on the share.",
            discussion: """
                Each session host's agent writes <share>/hosts/<host>.json when anything changes \
                and every minute. A host whose report is older than --stale-after is shown as \
                STALE: it may be down or cut off from the share, and is never counted as healthy. \
                For each package of the pool: the hosts that have it staged (version, users), those \
                that failed (why), and the fresh hosts that have neither. Exits 1 when a host is \
                stale, unhealthy or needs assistance.
                """)

        @Argument(help: ArgumentHelp("The host pool's name (its file is <share>/hostpools/<pool>.toml).", valueName: "pool"))
        var pool: String

        @Option(help: ArgumentHelp("Where the share is mounted.", valueName: "path"))
        var share: String

        @Option(name: .customLong("stale-after"), help: ArgumentHelp("Minutes without a report after which a host is stale.", valueName: "minutes"))
        var staleAfter: Int = 3

        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard (1...10_080).contains(staleAfter) else { throw ValidationError("--stale-after must be 1 to 10080 minutes") }
            if let problem = HostConfig.poolNameProblem(pool) { throw ValidationError("the pool name \(problem)") }
        }

        func run() throws {
            let path = HostPoolDefinition.path(share: share, pool: pool)
            var definition: HostPoolDefinition?
            do {
                definition = try HostPoolDefinition.load(share: share, pool: pool)
            } catch {
                FileHandle.standardError.write(Data("appattachctl: \(error); packages are not listed\n".utf8))
            }
            var st = stat()
            let modified = stat(path, &st) == 0
                ? Date(timeIntervalSince1970: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9) : nil
            let view = FleetView(pool: pool, entries: try HostReportDirectory(share: share).readAll(), definition: definition,
                                 hostPoolModified: modified, staleAfter: TimeInterval(staleAfter * 60))
            if output.json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                encoder.dateEncodingStrategy = .iso8601
                FileHandle.standardOutput.write(try encoder.encode(view) + Data("\n".utf8))
            } else {
                FileHandle.standardOutput.write(Data((view.text + "\n").utf8))
            }
            if !view.hostsInTrouble.isEmpty { throw ExitCode(1) }
        }
    }
}
