import CommandSupport
import ArgumentParser
import Expand
import Foundation

/// `appattachctl expand`: MSIX packages → a VHDX, VHD or EROFS image for the share.
struct ExpandCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expand",
        abstract: PublishingCommands.abstract("expand"),
        discussion: """
            Each package is verified, unpacked into <root-directory>/<PackageFullName>/, made \
            root-owned and read-only with POSIX ACLs, and put into a filesystem (EROFS by default) \
            inside a fixed VHDX (default) or VHD with one GPT partition at 1 MiB. The image appears \
            under its final name only when it is complete.
            """)

    @Argument(help: ArgumentHelp("The .msix or .appx packages to put in the image.", valueName: "package"))
    var packages: [String]

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("The image file to create.", valueName: "image"))
    var output: String

    @Option(help: "Container format: vhdx, vhd or erofs (default: from the output's extension, else vhdx).")
    var format: ImageFormat?

    @Option(help: "Filesystem inside the image: erofs or ext4.")
    var filesystem: ImageFilesystem = .erofs

    @Option(help: ArgumentHelp("Directory inside the image that holds the package folders.", valueName: "dir"))
    var rootDirectory: String = ""

    @Option(help: ArgumentHelp("Virtual disk size: auto, or a number of MiB.", valueName: "auto|MB"))
    var size: String = "auto"

    @Option(help: ArgumentHelp("Only this group may read the packages (default: everyone).", valueName: "group"))
    var readers: String?

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        guard ImageSize(argument: size) != nil else {
            throw ValidationError("--size must be 'auto' or a positive number of MiB, not '\(size)'")
        }
    }

    func run() throws {
        let options = ExpandOptions(
            packages: packages, output: output,
            format: format ?? ImageFormat.guess(fromPath: output) ?? .vhdx,
            filesystem: filesystem, rootDirectory: rootDirectory,
            size: ImageSize(argument: size)!, readersGroup: readers)
        let result = try Expand(options, progress: TerminalProgress()).run()
        print(json ? try ExpandReport(result).json() : ExpandReport(result).text)
    }
}

extension ImageFormat: ExpressibleByArgument {}
extension ImageFilesystem: ExpressibleByArgument {}
