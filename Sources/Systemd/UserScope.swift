import CSystemd
import Glibc

/// A transient scope unit of the calling user's systemd manager, holding the calling process:
/// what `systemd-run --user --scope` makes, over sd-bus (`StartTransientUnit` with `PIDs`,
/// then waiting for the job, so the process is in the scope when `start` returns).
///
/// The connection goes to the manager's own socket (`$XDG_RUNTIME_DIR/systemd/private`) and,
/// where that is missing, to the user bus, as `systemctl --user` does; it is closed on return,
/// so nothing of it is left to a program the caller executes next.
public enum UserScope {
    static let service = "org.freedesktop.systemd1"
    static let path = "/org/freedesktop/systemd1"
    static let manager = "org.freedesktop.systemd1.Manager"

    /// How long the manager may take to start the scope.
    public static let timeoutMicroseconds: UInt64 = 5_000_000

    /// Starts scope `name` (e.g. `app-appattach-….scope`) in `app.slice` holding process `pid`.
    public static func start(name: String, description: String, pid: pid_t = getpid()) throws(SystemdError) {
        let bus = try connect()
        defer { sd_bus_flush_close_unref(bus) }
        let waiter = JobWaiter()
        var slot: OpaquePointer?
        // A direct connection has no bus names: the signal comes without a sender.
        let sender: String? = sd_bus_is_bus_client(bus) > 0 ? service : nil
        var r = sd_bus_match_signal(bus, &slot, sender, path, manager, "JobRemoved", { message, userdata, _ in
            Unmanaged<JobWaiter>.fromOpaque(userdata!).takeUnretainedValue().onJobRemoved(message!)
        }, Unmanaged.passUnretained(waiter).toOpaque())
        guard r >= 0 else { throw SystemdError("watch the user manager's jobs", call: "sd_bus_match_signal", result: r) }
        defer { sd_bus_slot_unref(slot) }

        let call = try BusMessage.methodCall(bus, destination: service, path: path, interface: manager,
                                             member: "StartTransientUnit", arguments: [name, "fail"])
        defer { sd_bus_message_unref(call) }
        r = BusMessage.container(call, "a", "(sv)") {
            var r = BusMessage.appendProperty(call, "Description", string: description)
            if r >= 0 { r = BusMessage.appendProperty(call, "Slice", string: "app.slice") }
            if r >= 0 { r = BusMessage.appendProperty(call, "CollectMode", string: "inactive-or-failed") }
            if r >= 0 { r = BusMessage.appendProperty(call, "PIDs", uint32Array: [UInt32(pid)]) }
            return r
        }
        if r >= 0 { r = BusMessage.container(call, "a", "(sa(sv))") { 0 } }
        guard r >= 0 else { throw SystemdError("build the call to start \(name)", call: "sd_bus_message_append", result: r) }

        let reply = try BusMessage.call(bus, call, timeoutMicroseconds: timeoutMicroseconds, action: "start \(name)")
        defer { sd_bus_message_unref(reply) }
        guard let job = BusMessage.readString(reply, type: "o") else {
            throw SystemdError("read the job of \(name)", call: "sd_bus_message_read_basic", result: -EBADMSG)
        }
        let result = try waiter.wait(for: job, bus: bus, unit: name)
        guard result == "done" else {
            throw SystemdError("start \(name)", call: "JobRemoved", result: -EIO, busError: "job result \(result)")
        }
    }

    /// The user manager's runtime directory: `$XDG_RUNTIME_DIR`, else `/run/user/<uid>`.
    static func runtimeDirectory() -> String {
        if let value = getenv("XDG_RUNTIME_DIR"), value.pointee == UInt8(ascii: "/") { return String(cString: value) }
        return "/run/user/\(getuid())"
    }

    private static func connect() throws(SystemdError) -> OpaquePointer {
        let direct = runtimeDirectory() + "/systemd/private"
        if access(direct, F_OK) == 0 {
            var bus: OpaquePointer?
            var r = sd_bus_new(&bus)
            guard r >= 0, let created = bus else { throw SystemdError("create a bus", call: "sd_bus_new", result: r) }
            r = sd_bus_set_address(created, "unix:path=" + direct)
            if r >= 0 { r = sd_bus_start(created) }
            if r >= 0 { return created }
            sd_bus_unref(created)
        }
        var bus: OpaquePointer?
        let r = sd_bus_open_user(&bus)
        guard r >= 0, let bus else {
            throw SystemdError("connect to your systemd user manager (\(direct))", call: "sd_bus_open_user", result: r)
        }
        return bus
    }
}

/// Collects `JobRemoved` signals until the one for the job asked for arrives.
private final class JobWaiter {
    var removed: [String: String] = [:]

    func onJobRemoved(_ message: OpaquePointer) -> Int32 {
        _ = BusMessage.readUInt32(message)
        guard let job = BusMessage.readString(message, type: "o") else { return 0 }
        _ = BusMessage.readString(message)
        removed[job] = BusMessage.readString(message) ?? "unknown"
        return 0
    }

    func wait(for job: String, bus: OpaquePointer, unit: String) throws(SystemdError) -> String {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let deadline = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000 + UserScope.timeoutMicroseconds
        while true {
            if let result = removed[job] { return result }
            let r = sd_bus_process(bus, nil)
            guard r >= 0 else { throw SystemdError("wait for \(unit) to start", call: "sd_bus_process", result: r) }
            if r > 0 { continue }
            clock_gettime(CLOCK_MONOTONIC, &now)
            let current = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
            guard current < deadline else {
                throw SystemdError("wait for \(unit) to start", call: "sd_bus_wait", result: -ETIMEDOUT)
            }
            let w = sd_bus_wait(bus, deadline - current)
            guard w >= 0 else { throw SystemdError("wait for \(unit) to start", call: "sd_bus_wait", result: w) }
        }
    }
}
