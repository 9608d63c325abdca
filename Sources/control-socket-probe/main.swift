// control-socket-probe: the agent's control socket (the real ControlServer) in a process of
// its own, for tests that must change what a whole process has, such as its descriptor limit.
//
//   control-socket-probe SOCKET [--nofile N] [--per-user N] [--all-users N] [--root N]
//                               [--request-deadline-ms N] [--reply-deadline-ms N]
//
// Status is answered at once with the server's counts; Register is held and never answered
// (a loop stuck on it) until a line "release" on standard input (a request could not get in
// while every descriptor is held). Prints "ready <pid>" once listening; ends when its
// standard input closes.
import Agent
import ControlProtocol
import Foundation
import Glibc
import Logging
import Synchronization

/// The probe's answer to Status: the server's counts.
struct ProbeStatus: Codable, Sendable {
    var open: Int
    var reading: Int
    var waiting: Int
    var accepted: Int
    var refused: Int
    var evicted: Int
    var requestsTimedOut: Int
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard let path = arguments.first else {
    FileHandle.standardError.write(Data("usage: control-socket-probe SOCKET [--nofile N] [--per-user N] [--all-users N] [--root N] [--request-deadline-ms N] [--reply-deadline-ms N]\n".utf8))
    exit(2)
}
var limits = ControlLimits.standard
var nofile: rlim_t?
var index = 1
while index + 1 < arguments.count {
    guard let value = Int(arguments[index + 1]) else { break }
    switch arguments[index] {
    case "--nofile": nofile = rlim_t(value)
    case "--per-user": limits.perUser = value
    case "--all-users": limits.allUsers = value
    case "--root": limits.root = value
    case "--request-deadline-ms": limits.requestDeadline = .milliseconds(value)
    case "--reply-deadline-ms": limits.replyDeadline = .milliseconds(value)
    default: break
    }
    index += 2
}
if let nofile {
    var limit = rlimit()
    getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = nofile
    guard setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
        FileHandle.standardError.write(Data("control-socket-probe: setrlimit(RLIMIT_NOFILE, \(nofile)): \(String(cString: strerror(errno)))\n".utf8))
        exit(1)
    }
}

var logger = Logger(label: "control-socket-probe") { StreamLogHandler.standardError(label: $0) }
logger.logLevel = .notice
/// The server (once made) and the Register requests held, shared by the server's thread
/// (which delivers the requests) and the main thread (which releases them).
final class ProbeState: Sendable {
    let server = Mutex<ControlServer?>(nil)
    let held = Mutex<[ControlConnection]>([])
}

// No async code and no Dispatch queue: a process out of descriptors must not depend on one
// (Dispatch makes an eventfd when the main thread leaves for dispatch_main, and traps if it
// cannot). Requests are answered on the server's thread, which never waits on a client.
let state = ProbeState()
let server = try ControlServer(path: path, limits: limits, logger: logger) { connection in
    let method = (try? ControlCoding.decoder().decode(ControlRequestHead.self, from: Data(connection.line.utf8)))?.method
    if method == ControlMethod.register.rawValue {
        state.held.withLock { $0.append(connection) }
        return
    }
    let counts = state.server.withLock { $0 }?.counts ?? ControlSocketCounts()
    connection.reply(ProbeStatus(open: counts.open, reading: counts.reading, waiting: counts.waiting, accepted: counts.accepted,
                                 refused: counts.refused, evicted: counts.evicted, requestsTimedOut: counts.requestsTimedOut))
}
state.server.withLock { $0 = server }
server.start()
FileHandle.standardOutput.write(Data("ready \(getpid())\n".utf8))

// "release" lines; the end of the input (the test went away) ends the probe.
while let line = readLine() {
    guard line == "release" else { continue }
    let released = state.held.withLock { held in
        defer { held = [] }
        return held
    }
    for request in released { request.fail(.shuttingDown, "released") }
}
exit(0)
