import CSystemd
import Glibc
import LinuxSystem

/// Reads a session through sd-login: logind's session file under `/run/systemd/sessions`, a
/// local file read instead of a D-Bus round trip. In a sign-in storm logind answers D-Bus calls
/// behind the work of every other sign-in (hundreds of milliseconds each), while its session
/// file is written before it announces the session with `SessionNew`.
enum LogindSessionFiles {
    /// The session at the object path `path`, or nil when its file cannot be read (not written
    /// yet, or gone): then the caller asks logind over D-Bus. The user's name comes from the
    /// account database (NSS), as logind itself took it when it made the session.
    static func session(path: String) -> LogindSession? {
        var decoded: UnsafeMutablePointer<CChar>?
        guard sd_bus_path_decode(path, LogindBus.sessionPathPrefix, &decoded) > 0, let decoded else { return nil }
        let id = String(cString: decoded)
        free(decoded)
        var uid: uid_t = 0
        guard sd_session_get_uid(id, &uid) >= 0,
              let sessionClass = string({ sd_session_get_class(id, $0) }),
              let state = string({ sd_session_get_state(id, $0) }),
              let account = try? Accounts.user(id: uid) else { return nil }
        return LogindSession(id: id, objectPath: path, uid: uid, userName: account.name,
                             sessionClass: .init(rawValue: sessionClass), state: .init(rawValue: state))
    }

    /// Calls an sd-login getter that hands over a malloc'd string.
    private static func string(_ getter: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32) -> String? {
        var text: UnsafeMutablePointer<CChar>?
        guard getter(&text) >= 0, let text else { return nil }
        defer { free(text) }
        return String(cString: text)
    }
}
