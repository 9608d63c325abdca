import CommandSupport
import ArgumentParser
import MSIX

/// `appattachctl verify PKG...`: checks each package's block map, hashes and signature digests.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: PublishingCommands.abstract("verify"),
        discussion: "Checks the ZIP structure, that AppxBlockMap.xml lists exactly the payload files, the SHA-256 of every 64 KiB block, content types, and the signature's digests when signed. The PKCS#7 signature and its certificate chain are not checked."
    )

    @Argument(help: ArgumentHelp("Packages to verify.", valueName: "package"))
    var packages: [String]

    func run() throws {
        for path in packages {
            let report = try MSIXPackage.open(path).verify()
            print("\(path): OK (\(report.fileCount) files, \(report.blockCount) blocks, signature \(report.signaturePresent ? "present" : "absent"))")
        }
    }
}
