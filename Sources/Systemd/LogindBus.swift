import CSystemd
import Glibc

/// logind's D-Bus names and the two queries the watcher makes (`man org.freedesktop.login1`).
enum LogindBus {
    static let service = "org.freedesktop.login1"
    static let managerPath = "/org/freedesktop/login1"
    static let managerInterface = "org.freedesktop.login1.Manager"
    static let sessionInterface = "org.freedesktop.login1.Session"
    static let sessionPathPrefix = "/org/freedesktop/login1/session"
    static let propertiesInterface = "org.freedesktop.DBus.Properties"

    /// A call that takes longer than this means logind is stuck; the watcher logs and moves on
    /// rather than holding up every later signal behind it.
    static let callTimeoutMicroseconds: UInt64 = 5_000_000

    /// `ListSessions()`: the object paths of all sessions, `a(susso)`.
    static func sessionPaths(_ bus: OpaquePointer) throws(SystemdError) -> [String] {
        let call = try BusMessage.methodCall(bus, destination: service, path: managerPath,
                                             interface: managerInterface, member: "ListSessions")
        defer { sd_bus_message_unref(call) }
        let reply = try BusMessage.call(bus, call, timeoutMicroseconds: callTimeoutMicroseconds,
                                        action: "list logind's sessions")
        defer { sd_bus_message_unref(reply) }
        var paths: [String] = []
        guard BusMessage.enter(reply, "a", "(susso)") else {
            throw SystemdError("read ListSessions' reply", call: "sd_bus_message_enter_container", result: -EBADMSG)
        }
        while BusMessage.enter(reply, "r", "susso") {
            _ = BusMessage.readString(reply)        // id
            _ = BusMessage.readUInt32(reply)        // uid
            _ = BusMessage.readString(reply)        // user name
            _ = BusMessage.readString(reply)        // seat
            if let path = BusMessage.readString(reply, type: "o") { paths.append(path) }
            BusMessage.exit(reply)
        }
        BusMessage.exit(reply)
        return paths
    }

    /// `GetAll("org.freedesktop.login1.Session")` on one session: its `Id`, `User`, `Name`,
    /// `Class` and `State` in one round trip.
    static func session(_ bus: OpaquePointer, path: String) throws(SystemdError) -> LogindSession {
        let call = try BusMessage.methodCall(bus, destination: service, path: path, interface: propertiesInterface,
                                             member: "GetAll", arguments: [sessionInterface])
        defer { sd_bus_message_unref(call) }
        let reply = try BusMessage.call(bus, call, timeoutMicroseconds: callTimeoutMicroseconds,
                                        action: "read the properties of \(path)")
        defer { sd_bus_message_unref(reply) }
        var id: String?, uid: UInt32?, name: String?, sessionClass: String?, state: String?
        var seen: [String] = []
        guard BusMessage.enter(reply, "a", "{sv}") else {
            throw SystemdError("read the properties of \(path)", call: "sd_bus_message_enter_container", result: -EBADMSG)
        }
        while BusMessage.enter(reply, "e", "sv") {
            let key = BusMessage.readString(reply)
            let contents = BusMessage.variantContents(reply)
            seen.append("\(key ?? "?"):\(contents ?? "?")")
            switch (key, contents) {
            case ("Id", "s"), ("Name", "s"), ("Class", "s"), ("State", "s"):
                _ = BusMessage.enter(reply, "v", "s")
                let value = BusMessage.readString(reply)
                BusMessage.exit(reply)
                switch key {
                case "Id": id = value
                case "Name": name = value
                case "Class": sessionClass = value
                default: state = value
                }
            case ("User", "(uo)"):
                _ = BusMessage.enter(reply, "v", "(uo)")
                if BusMessage.enter(reply, "r", "uo") {
                    uid = BusMessage.readUInt32(reply)
                    // sd-bus leaves a struct only when it was read to its end.
                    _ = BusMessage.readString(reply, type: "o")
                    BusMessage.exit(reply)
                }
                BusMessage.exit(reply)
            default:
                _ = sd_bus_message_skip(reply, "v")
            }
            BusMessage.exit(reply)
        }
        BusMessage.exit(reply)
        guard let id, let uid, let name, let sessionClass, let state else {
            throw SystemdError("read the properties of \(path)", call: "GetAll", result: -EBADMSG,
                               busError: "Id, User, Name, Class or State missing in \(seen)")
        }
        return LogindSession(id: id, objectPath: path, uid: uid, userName: name,
                             sessionClass: .init(rawValue: sessionClass), state: .init(rawValue: state))
    }
}
