import CommandSupport
import ArgumentParser
import MSIX

/// `appattachctl pack DIR -o app.msix`: packages a directory as an MSIX.
struct PackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack",
        abstract: PublishingCommands.abstract("pack"),
        discussion: "Uses --manifest, or AppxManifest.xml in DIR, or writes a manifest from the identity options; a .desktop file in DIR supplies the display name, icon, MIME types and categories that are not given."
    )

    @Argument(help: ArgumentHelp("The directory to package.", valueName: "dir"))
    var directory: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The package to write.", valueName: "app.msix"))
    var output: String

    @Option(help: ArgumentHelp("Use this AppxManifest.xml.", valueName: "file"))
    var manifest: String?

    @Option(help: "Identity Name (3-50 characters: A-Z a-z 0-9 - .).")
    var name: String?

    @Option(help: "Identity Publisher, such as CN=Contoso.")
    var publisher: String?

    @Option(help: "Identity Version, four numbers such as 1.0.0.0.")
    var version: String?

    @Option(help: "The program to run, relative to DIR.")
    var executable: String?

    @Option(help: "The name shown in menus.")
    var displayName: String?

    func run() throws {
        let options = PackOptions(manifestPath: manifest, name: name, publisher: publisher, version: version,
                                  executable: executable, displayName: displayName)
        let result = try PackagePacker.pack(directory: directory, output: output, options: options)
        print("\(output): \(result.manifest.identity.fullName) (\(result.files) files, \(result.bytes) bytes)")
    }
}
