// appattachd: the appattach root agent (systemd/appattach.service runs it as Type=notify).
import Agent
import Glibc
import HostPool
import Logging
import ProductVersion
import Systemd

/// One line on standard error (journald keeps it for the unit when logging is not set up).
func complain(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = write(2, bytes, bytes.count)
}

let arguments = Array(CommandLine.arguments.dropFirst())
var configPath = HostConfig.defaultPath
var index = 0
while index < arguments.count {
    switch arguments[index] {
    case "--config" where index + 1 < arguments.count:
        configPath = arguments[index + 1]
        index += 2
    case "--help", "-h":
        print("usage: appattachd [--config FILE]   (default \(HostConfig.defaultPath))")
        exit(0)
    case "--version":
        print(ProductVersion.current)
        exit(0)
    default:
        complain("appattachd: unknown argument '\(arguments[index])' (usage: appattachd [--config FILE])")
        exit(2)
    }
}

// Asynchronous: the event loop must not wait while journald catches up with a sign-in storm.
let destination = JournalDestination(asynchronous: true)
let config: HostConfig
do {
    config = try HostConfig.load(path: configPath)
} catch {
    complain("appattachd: \(error)")
    exit(1)
}
let level = Logger.Level(rawValue: config.logLevel.rawValue) ?? .info
LoggingSystem.bootstrap { label in
    var handler = JournalLogHandler(label: label, destination: destination)
    handler.logLevel = level
    return handler
}
let logger = Logger(label: "appattachd")

do {
    try await Agent(settings: AgentSettings(config: config, configPath: configPath), logger: logger).run()
    destination.flush()
} catch {
    logger.critical("appattach agent cannot start: \(error)", error: error)
    destination.flush()
    exit(1)
}
