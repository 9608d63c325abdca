import AppData
import Container
import Glibc
import LinuxSystem
import Systemd

/// `appattach-launch`: what `appattachctl launch` executes once the agent has completed the
/// registration. As the user, in this one process: it moves itself into a new transient
/// scope of the user's systemd manager (`app-appattach-<PackageFamilyName!AppId>-<random>.scope`),
/// makes the app's container (a user and mount namespace with the user's XDG directories
/// overlaid by the package's layer, or the XDG fallback), changes to the package root and
/// replaces itself with the app. It is dynamically linked (libsystemd), unlike `appattachctl`.
@main
enum Launcher {
    static func main() {
        do {
            try run()
        } catch {
            fail("\(error)")
        }
    }

    static func run() throws {
        let request = try LaunchRequest(commandLine: Array(CommandLine.arguments.dropFirst()))
        let layout = try AppDataLayout(uid: getuid(), packageFamilyName: request.packageFamilyName,
                                       usersDirectory: request.usersDirectory)
        let plan = try ContainerPlan(layout: layout, home: try home(), environment: xdgEnvironment())
        let container = AppContainer(plan: plan)
        try container.prepare()

        let scope = AppScopeName.make(packageFamilyName: request.packageFamilyName, appId: request.appId,
                                      random: randomHex())
        do {
            try UserScope.start(name: scope, description: "\(request.appUserModelId) (appattach)")
        } catch {
            // Without a user manager (no systemd --user for this login) the app still runs;
            // it is not visible as a scope, so say so.
            journal(priority: 4, "\(request.appUserModelId): runs outside a scope: \(error)", request: request)
        }

        let mode: AppContainer.Mode = getenv(AppContainer.modeVariable).map { String(cString: $0) } == "xdg" ? .xdg : .namespace
        if case .xdg(let reason) = container.enter(mode: mode) {
            container.applyFallbackEnvironment()
            if firstFallbackOfThisBoot() {
                journal(priority: 4, "\(request.packageFamilyName): apps run without their own namespace, "
                        + "XDG directories point into the layer: \(reason)",
                        request: request, event: .containerFallback, reason: reason)
            }
        }

        guard chdir(request.packagePath) == 0 else {
            throw SystemCallError("chdir", request.packagePath)
        }
        let argv = ([request.program] + request.arguments).map { strdup($0) } + [nil]
        // The app starts with no signal blocked, whatever started this launcher.
        SignalMask.unblockAll()
        execv(request.program, argv)
        throw SystemCallError("exec", request.program)
    }

    /// `$HOME` when absolute, else the home in the user's account record.
    static func home() throws -> String {
        if let value = getenv("HOME"), value.pointee == UInt8(ascii: "/") { return String(cString: value) }
        guard let record = try Accounts.user(id: getuid()) else {
            throw ContainerError("uid \(getuid()): no account record and no HOME")
        }
        return record.home
    }

    static func xdgEnvironment() -> [String: String] {
        var environment: [String: String] = [:]
        for area in AppDataArea.allCases {
            if let value = getenv(area.environmentVariable) { environment[area.environmentVariable] = String(cString: value) }
        }
        return environment
    }

    static func randomHex() -> String {
        let text = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return String(repeating: "0", count: 8 - text.count) + text
    }

    /// Whether this is the first fallback since the user's runtime directory was made (sign-in
    /// after boot): a marker there, made with `O_EXCL`. Without a runtime directory, always.
    static func firstFallbackOfThisBoot() -> Bool {
        let runtime = getenv("XDG_RUNTIME_DIR").map { String(cString: $0) } ?? "/run/user/\(getuid())"
        guard access(runtime, W_OK) == 0 else { return true }
        let directory = runtime + "/appattach"
        mkdir(directory, 0o700)
        let fd = open(directory + "/xdg-fallback-reported", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd); return true }
        return errno != EEXIST
    }

    static func journal(priority: Int, _ message: String, request: LaunchRequest,
                        event: AgentEvent? = nil, reason: String? = nil) {
        var fields = [
            JournalField("MESSAGE", message),
            JournalField("PRIORITY", String(priority)),
            JournalField("SYSLOG_IDENTIFIER", "appattach-launch"),
            JournalField("APPATTACH_PACKAGE", request.packageFamilyName),
            JournalField("APPATTACH_APP", request.appUserModelId),
        ]
        if let event { fields.append(JournalField("MESSAGE_ID", event.messageID)) }
        if let reason { fields.append(JournalField("APPATTACH_REASON", reason)) }
        JournalDestination().send(fields)
    }

    static func fail(_ message: String) -> Never {
        let line = "appattach-launch: \(message)\n"
        _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
        exit(1)
    }
}
