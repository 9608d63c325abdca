import CommandSupport
import ArgumentParser
import LinuxSystem

/// `appattachctl inspect`: what a package or an image holds.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: PublishingCommands.abstract("inspect"),
        discussion: """
            For a package (.msix, .appx): identity, family and full name, applications and the \
            extensions registration uses. For an image (VHDX, VHD, raw disk or filesystem): \
            container format, virtual size, partitions, filesystem, and the byte range a loop \
            device maps (or why it cannot).
            """)

    @Argument(help: ArgumentHelp("A package or an image file.", valueName: "file"))
    var file: String

    @OptionGroup var output: OutputOptions

    func run() throws {
        let opened = try OpenFile.openForReading(file)
        guard try opened.size() >= 512 else { throw InspectError(description: "\(file): too small to be a package or an image") }
        let head = try opened.read(count: 4, at: 0)
        if head == [0x50, 0x4B, 0x03, 0x04] || head == [0x50, 0x4B, 0x05, 0x06] {
            try inspectPackage(path: file, json: output.json)
        } else {
            try inspectImage(path: file, json: output.json)
        }
    }
}

/// A file that is neither a package nor an image.
struct InspectError: AppAttachError {
    let description: String
}
