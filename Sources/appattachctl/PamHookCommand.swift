import ArgumentParser
import ControlProtocol
import Foundation
import Glibc
import HostPool

/// `appattachctl pam-hook`: run by `session optional pam_exec.so quiet /usr/bin/appattachctl pam-hook`.
struct PamHookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pam-hook",
        abstract: "PAM session hook: hold a sign-in until the user's regular registrations are done.",
        discussion: """
            On PAM_TYPE=open_session, asks the agent to register PAM_USER and waits, at most the \
            host's registration.logon_timeout_seconds. It never fails a sign-in: it always exits 0, \
            and says in the system log why it gave up, if it did.
            """,
        shouldDisplay: false)

    @Option(help: ArgumentHelp("The host configuration, for the timeout.", valueName: "file"))
    var config = HostConfig.defaultPath

    func run() {
        let environment = ProcessInfo.processInfo.environment
        guard environment["PAM_TYPE"] == "open_session", let user = environment["PAM_USER"], !user.isEmpty else { return }
        let timeout = (try? HostConfig.load(path: config))?.logonTimeoutSeconds ?? HostConfig.defaultLogonTimeoutSeconds
        guard timeout > 0 else { return }
        do {
            let reply = try ControlClient(timeout: .seconds(timeout))
                .call(.register, RegisterParameters(user: user, wait: true), as: UserRegistrationReply.self)
            SystemLog.info("registered \(reply.packages.count) package(s) for \(user) at sign-in")
        } catch {
            SystemLog.warning("sign-in of \(user) goes on without waiting for app registration: \(error)")
        }
    }
}

/// syslog(3), for the PAM hook: its standard error goes nowhere useful.
enum SystemLog {
    static func info(_ message: String) { log(LOG_INFO, message) }
    static func warning(_ message: String) { log(LOG_WARNING, message) }

    private static func log(_ priority: Int32, _ message: String) {
        openlog("appattachctl", LOG_PID, LOG_AUTHPRIV)
        message.withCString { text in withVaList([text]) { vsyslog(priority, "%s", $0) } }
        closelog()
    }
}
