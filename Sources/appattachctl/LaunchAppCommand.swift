import ArgumentParser
import Container
import ControlProtocol
import Foundation
import Glibc
import LinuxSystem

/// `appattachctl launch PFN!AppId [--executable PATH] [ARGS...]`: what desktop entries run.
struct LaunchAppCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Start an app of a package registered for you, completing a delayed registration first.",
        discussion: """
            Asks the agent to complete your registration of the package (on the first launch of a \
            delayed registration that adds aliases, URL handlers and startup tasks), then \
            starts the app from /run/appattach/packages/<PackageFullName>/ through appattach-launch \
            (beside appattachctl, or $APPATTACH_LAUNCHER): in its own systemd user scope, in a user \
            and mount namespace where ~/.config, ~/.local/share, ~/.local/state and ~/.cache are \
            overlays whose writes land in the package's layer. A local file:// URI among the \
            arguments (what a desktop passes when it opens a file) reaches the app as its path.
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
        let request: LaunchRequest, launcher: String
        do {
            request = try LaunchRequest(appUserModelId: appUserModelId, packagePath: reply.packagePath,
                                        executable: relative, arguments: arguments.map(FileURI.localPath))
            // The launcher makes the scope and the container; it links libsystemd, which this
            // static program cannot.
            launcher = try LauncherLocation.find()
        } catch {
            throw LaunchError(error.description)
        }
        let argv = ([launcher] + request.commandLine).map { strdup($0) } + [nil]
        execv(launcher, argv)
        throw LaunchError("\(launcher): \(String(cString: strerror(errno)))")
    }
}

/// Why an app could not be started.
struct LaunchError: AppAttachError {
    let description: String
    init(_ description: String) { self.description = description }
}
