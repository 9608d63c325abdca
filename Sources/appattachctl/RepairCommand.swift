import ArgumentParser
import CommandSupport
import Glibc
import Staging

/// `appattachctl repair`: puts staging right after a crash, as the agent does when it starts.
struct RepairCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Put staging right after a crash: finish or undo interrupted stages and destages (root).",
        discussion: """
            Detaches loop devices of appattach that nothing mounts, finishes stages \
            interrupted after the image was mounted, unmounts packages whose image is gone, \
            and removes records and directories of what is not staged; prints each repair. \
            It takes the staging lock, so it waits for a stage or destage in progress (at \
            most 30 seconds) and never takes that for a leftover. The agent does the same \
            when it starts.
            """)

    @OptionGroup var output: OutputOptions

    func run() throws {
        guard geteuid() == 0 else { throw StagingError("repair needs root") }
        let repairs = try Reconcile(paths: .current).run()
        if output.json { return print(try JSONOutput.encode(RepairOutput(repairs: repairs))) }
        if repairs.isEmpty { return print("nothing to repair") }
        for repair in repairs { print("repaired: \(repair)") }
    }
}

/// `repair --json`: what was repaired, one line each.
struct RepairOutput: Encodable {
    var repairs: [String]
}
