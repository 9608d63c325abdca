import CommandSupport
import ArgumentParser
import Foundation
import ShareCatalog

/// `appattachctl upload IMAGE --share PATH`: puts an image on the share and records it in the
/// share's catalog.
struct UploadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: PublishingCommands.abstract("upload"),
        discussion: """
            The image is checked first (it must be an image a host can stage), copied to \
            <share>/images/<name> under a temporary name, synced and renamed into place, and \
            recorded in <share>/catalog.json with its SHA-256, size, container and filesystem. \
            Uploading the same bytes again does nothing. Several uploaders may run at once.
            """)

    @Argument(help: ArgumentHelp("The image to upload (VHDX, VHD or raw EROFS/ext4).", valueName: "image"))
    var image: String

    @Option(help: ArgumentHelp("Where the share is mounted.", valueName: "path"))
    var share: String

    @Option(help: ArgumentHelp("The file name on the share (default: the image's own).", valueName: "name"))
    var name: String?

    @Option(name: .customLong("package"),
            help: ArgumentHelp("A PackageFullName inside the image, for the catalog (repeatable).", valueName: "full-name"))
    var packages: [String] = []

    @Flag(help: "Overwrite an image of the same name that has different content.")
    var replace = false

    @OptionGroup var output: OutputOptions

    func run() throws {
        let result = try ImageUpload(share: share, replace: replace).run(image, name: name, packages: packages)
        if output.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            FileHandle.standardOutput.write(try encoder.encode(result) + Data("\n".utf8))
        } else {
            FileHandle.standardOutput.write(Data((result.text + "\n").utf8))
        }
    }
}
