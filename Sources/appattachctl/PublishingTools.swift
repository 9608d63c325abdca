import ArgumentParser
import CommandSupport
import Glibc
import LinuxSystem

/// Hands the publishing commands (`PublishingCommands`) over to `appattach-tools`, which
/// holds the MSIX, XML, TOML and image-writing code that this program leaves out so that it
/// starts fast for the commands a session host runs at every sign-in, launch and stage.
enum PublishingTools {
    /// Replaces this process with `appattach-tools` when the command line names one of its
    /// commands (`appattachctl expand …`, `appattachctl help expand`); returns otherwise.
    static func handOver(argc: Int32, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) {
        guard argc >= 2, let first = argv[1] else { return }
        var word = String(cString: first)
        if word == "help", argc >= 3, let second = argv[2] { word = String(cString: second) }
        guard PublishingCommands.contains(word) else { return }
        let program: String
        switch CompanionProgram(name: PublishingCommands.program, environmentVariable: PublishingCommands.environmentVariable).find() {
        case .success(let path): program = path
        case .failure(let searched):
            StandardStreams.writeError("appattachctl: \(word) is run by \(PublishingCommands.program), which is not installed (looked at \(searched.places.joined(separator: ", "))); install it beside appattachctl\n")
            exit(1)
        }
        // argv[0] stays "appattachctl": the command is the same one the admin typed.
        execv(program, argv)
        StandardStreams.writeError("appattachctl: cannot run \(program): \(String(cString: strerror(errno)))\n")
        exit(1)
    }
}

/// The name of a publishing command, for `Published`.
protocol PublishedName { static var name: String { get } }
enum Inspect: PublishedName { static let name = "inspect" }
enum Verify: PublishedName { static let name = "verify" }
enum Pack: PublishedName { static let name = "pack" }
enum Expand: PublishedName { static let name = "expand" }
enum Upload: PublishedName { static let name = "upload" }
enum HostPool: PublishedName { static let name = "hostpool" }
enum Gc: PublishedName { static let name = "gc" }

/// A publishing command as `appattachctl --help` lists it. Its command lines never reach the
/// parser (`PublishingTools.handOver` runs first); should one arrive some other way, it is
/// handed over all the same.
struct Published<Name: PublishedName>: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: Name.name, abstract: PublishingCommands.abstract(Name.name))
    }

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var arguments: [String] = []

    func run() throws {
        var argv = (["appattachctl", Name.name] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        argv.withUnsafeMutableBufferPointer { PublishingTools.handOver(argc: Int32($0.count - 1), argv: $0.baseAddress!) }
    }
}
