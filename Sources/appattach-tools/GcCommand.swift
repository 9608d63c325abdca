import ArgumentParser
import CommandSupport
import Foundation
import ShareCatalog

/// `appattachctl gc --share PATH [--delete]`: images on the share that nothing needs.
struct GcCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: PublishingCommands.abstract("gc"),
        discussion: """
            An image in <share>/images/ is kept while any host-pool file names it (active or \\
            inactive) or any host reported it staged within --reports-valid-for. The others \\
            are listed; --delete removes them and their catalog entries, under the catalog's \\
            lock. Nothing is removed while a host-pool file cannot be read.
            """)

    @Option(help: ArgumentHelp("Where the share is mounted.", valueName: "path"))
    var share: String

    @Flag(help: "Remove what is listed.")
    var delete = false

    @Option(name: .customLong("reports-valid-for"), help: ArgumentHelp("Minutes after which a host's report no longer keeps an image.", valueName: "minutes"))
    var reportsValidFor: Int = 60

    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (1...525_600).contains(reportsValidFor) else { throw ValidationError("--reports-valid-for must be 1 to 525600 minutes") }
    }

    func run() throws {
        var garbage = ShareGarbage(share: ShareLayout(root: share))
        garbage.reportsValidFor = TimeInterval(reportsValidFor * 60)
        let findings = delete ? try garbage.delete(owner: ImageUpload.hostName()) : try garbage.find()
        if output.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            FileHandle.standardOutput.write(try encoder.encode(findings) + Data("\n".utf8))
            return
        }
        let verb = delete ? "removed" : "removable"
        for image in findings.removable {
            let size = image.size.map { "\($0) bytes" } ?? "file gone, catalog entry only"
            print("\(verb): images/\(image.name) (\(size))")
        }
        for kept in findings.kept { print("kept: images/\(kept.name): \(kept.reasons.joined(separator: "; "))") }
        for report in findings.ignoredReports { print("not counted: hosts/\(report)") }
        for problem in findings.problems { print("problem: \(problem)") }
        if findings.removable.isEmpty { print("nothing to remove") } else if !delete { print("run again with --delete to remove them") }
    }
}
