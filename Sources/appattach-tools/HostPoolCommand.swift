import CommandSupport
import ArgumentParser
import Foundation
import HostPool

/// `appattachctl hostpool …`: work with host-pool files.
struct HostPoolCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hostpool",
        abstract: PublishingCommands.abstract("hostpool"),
        subcommands: [Check.self])

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
}
