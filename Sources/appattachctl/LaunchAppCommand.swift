import ArgumentParser
import ControlProtocol
import Foundation
import Glibc

/// `appattachctl launch PFN!AppId [--executable PATH] [ARGS...]`: what desktop entries run.
struct LaunchAppCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Start an app of a package registered for you, completing a delayed registration first.",
        discussion: """
            Asks the agent to complete your registration of the package (on the first launch of a \
            delayed registration that adds aliases, URL handlers and startup tasks), then replaces \
            itself with the app from /run/appattach/packages/<PackageFullName>/.
            """)

    @Argument(help: ArgumentHelp("The app: PackageFamilyName!AppId.", valueName: "aumid"))
    var appUserModelId: String

    @Option(help: ArgumentHelp("A program in the package to start instead of the app's own (relative path).", valueName: "path"))
    var executable: String?

    @Argument(parsing: .captureForPassthrough, help: "Arguments for the app.")
    var arguments: [String] = []

    func run() throws {
        let reply = try ControlClient().call(.completeRegistration,
                                             CompleteRegistrationParameters(appUserModelId: appUserModelId),
                                             as: CompleteRegistrationReply.self)
        guard let relative = executable ?? reply.executable else {
            throw LaunchError("\(appUserModelId): the app names no executable")
        }
        let parts = relative.split(separator: "/")
        guard !relative.hasPrefix("/"), !parts.isEmpty, !parts.contains("..") else {
            throw LaunchError("\(relative): must be a path inside the package")
        }
        let program = reply.packagePath + "/" + relative
        let argv = [program] + arguments
        let cArguments = argv.map { strdup($0) } + [nil]
        execv(program, cArguments)
        throw LaunchError("\(program): \(String(cString: strerror(errno)))")
    }
}

/// Why an app could not be started.
struct LaunchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
