import ArgumentParser
import ControlProtocol
import Foundation
import Glibc
import HostPool
import LinuxSystem

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

    /// What the hook keeps of its time for the system log and its exit, so that the whole
    /// run, not only the wait, stays within the timeout.
    static let exitReserve: Duration = .milliseconds(100)

    func run() {
        // The bound counts from here: the config, connecting, sending and the wait all fit in it.
        let started = Deadline.now
        let environment = ProcessInfo.processInfo.environment
        guard environment["PAM_TYPE"] == "open_session", let user = environment["PAM_USER"], !user.isEmpty else { return }
        let timeout: Int
        do {
            timeout = try HostConfig.load(path: config).logonTimeoutSeconds
        } catch {
            timeout = HostConfig.defaultLogonTimeoutSeconds
            SystemLog.warning("the sign-in of \(user) waits at most the default \(timeout) s for app registration: \(error)")
        }
        guard timeout > 0 else { return }
        let total = Duration.seconds(timeout)
        let deadline = started.adding(total - min(Self.exitReserve, total / 10))
        do {
            let reply = try ControlClient(timeout: total)
                .call(.register, RegisterParameters(user: user, wait: true), as: UserRegistrationReply.self, by: deadline)
            SystemLog.info("registered \(reply.packages.count) package(s) for \(user) at sign-in")
        } catch {
            SystemLog.warning("sign-in of \(user) goes on without waiting for app registration (logon timeout \(timeout) s): \(error)")
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
