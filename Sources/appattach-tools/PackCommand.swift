import CommandSupport
import ArgumentParser
import MSIX
import PackageTrust

/// `appattachctl pack DIR -o app.msix`: packages a directory as an MSIX.
struct PackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack",
        abstract: PublishingCommands.abstract("pack"),
        discussion: "Uses --manifest, or AppxManifest.xml in DIR, or writes a manifest from the identity options; a .desktop file in DIR supplies the display name, icon, MIME types and categories that are not given. With --sign and --certificate the package is signed (AppxSignature.p7x, as signtool and osslsigncode write it); the manifest's Publisher must be the certificate's subject, as Windows writes it (appattachctl verify --trust prints it)."
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

    @Option(help: ArgumentHelp("Sign with this private key (PEM: PKCS#8, RSA or EC).", valueName: "key.pem"))
    var sign: String?

    @Option(help: ArgumentHelp("The signing certificate (PEM), then any intermediate CAs to carry.", valueName: "cert.pem"))
    var certificate: String?

    func validate() throws {
        guard (sign == nil) == (certificate == nil) else {
            throw ValidationError("give --sign KEY and --certificate CERT together")
        }
    }

    func run() throws {
        var options = PackOptions(manifestPath: manifest, name: name, publisher: publisher, version: version,
                                  executable: executable, displayName: displayName)
        if let sign, let certificate {
            options.signer = try PackageSigner(keyFile: sign, certificateFile: certificate)
        }
        let result = try PackagePacker.pack(directory: directory, output: output, options: options)
        print("\(output): \(result.manifest.identity.fullName) (\(result.files) files, \(result.bytes) bytes)")
    }
}
