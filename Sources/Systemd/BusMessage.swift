import CSystemd

/// Reading and building sd-bus messages without the variadic calls Swift cannot import
/// (`sd_bus_message_read`, `sd_bus_message_append`, `sd_bus_call_method`).
///
/// Every string read here is copied into a Swift `String` at once: the C pointers borrow from
/// the message and die with it.
enum BusMessage {
    /// A D-Bus type code as sd-bus takes it (`'s'`, `'u'`, `'a'` …).
    static func type(_ code: Unicode.Scalar) -> CChar { CChar(UInt8(ascii: code)) }

    /// Reads one `s` or `o` argument. The corresponding C function is `sd_bus_message_read_basic`.
    static func readString(_ message: OpaquePointer, type code: Unicode.Scalar = "s") -> String? {
        var pointer: UnsafePointer<CChar>?
        guard sd_bus_message_read_basic(message, type(code), &pointer) > 0, let pointer else { return nil }
        return String(cString: pointer)
    }

    /// Reads one `u` argument.
    static func readUInt32(_ message: OpaquePointer) -> UInt32? {
        var value: UInt32 = 0
        guard sd_bus_message_read_basic(message, type("u"), &value) > 0 else { return nil }
        return value
    }

    /// Enters a container; false at the end of an array (or on error).
    static func enter(_ message: OpaquePointer, _ code: Unicode.Scalar, _ contents: String) -> Bool {
        sd_bus_message_enter_container(message, type(code), contents) > 0
    }

    /// Leaves the current container. A struct or variant must have been read to its end first,
    /// or sd-bus refuses (EBUSY) and every later read is off.
    static func exit(_ message: OpaquePointer) {
        _ = sd_bus_message_exit_container(message)
    }

    /// The signature inside the variant at the read position, e.g. `"s"` or `"(uo)"`.
    static func variantContents(_ message: OpaquePointer) -> String? {
        var code: CChar = 0
        var contents: UnsafePointer<CChar>?
        guard sd_bus_message_peek_type(message, &code, &contents) > 0, code == type("v"), let contents else { return nil }
        return String(cString: contents)
    }

    /// Builds a method call with string arguments only (all that logind's calls here need).
    /// The caller owns the returned reference.
    static func methodCall(_ bus: OpaquePointer, destination: String, path: String, interface: String,
                           member: String, arguments: [String] = []) throws(SystemdError) -> OpaquePointer {
        var message: OpaquePointer?
        var r = sd_bus_message_new_method_call(bus, &message, destination, path, interface, member)
        guard r >= 0, let message else {
            throw SystemdError("call \(interface).\(member)", call: "sd_bus_message_new_method_call", result: r)
        }
        for argument in arguments {
            // For the "s" type, sd_bus_message_append_basic takes the C string itself as the value.
            r = argument.withCString { sd_bus_message_append_basic(message, type("s"), $0) }
            guard r >= 0 else {
                sd_bus_message_unref(message)
                throw SystemdError("call \(interface).\(member)", call: "sd_bus_message_append_basic", result: r)
            }
        }
        return message
    }

    /// Sends a call and waits for its reply, which the caller must unref. Signals that arrive
    /// meanwhile are queued by sd-bus and dispatched by the next `sd_bus_process`, in order.
    ///
    /// The corresponding C function is `sd_bus_call`.
    static func call(_ bus: OpaquePointer, _ message: OpaquePointer, timeoutMicroseconds: UInt64,
                     action: @autoclosure () -> String) throws(SystemdError) -> OpaquePointer {
        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        var reply: OpaquePointer?
        let r = sd_bus_call(bus, message, timeoutMicroseconds, &error, &reply)
        guard r >= 0, let reply else {
            var text: String?
            if sd_bus_error_is_set(&error) != 0, let name = error.name {
                text = String(cString: name) + (error.message.map { ": " + String(cString: $0) } ?? "")
            }
            throw SystemdError(action(), call: "sd_bus_call", result: r, busError: text)
        }
        return reply
    }
}
