import CSystemd

/// Building messages with containers (arrays, structs, variants) one call at a time, for the
/// calls whose arguments are not strings only (`StartTransientUnit`).
extension BusMessage {
    /// Appends one `s` value. The corresponding C function is `sd_bus_message_append_basic`.
    static func append(_ message: OpaquePointer, string: String) -> Int32 {
        string.withCString { sd_bus_message_append_basic(message, type("s"), $0) }
    }

    /// Appends one `u` value.
    static func append(_ message: OpaquePointer, uint32 value: UInt32) -> Int32 {
        var value = value
        return sd_bus_message_append_basic(message, type("u"), &value)
    }

    /// Opens a container (`a`, `r`, `v`, `e`) holding `contents`, runs `body`, closes it.
    /// Returns the first negative result, or 0.
    static func container(_ message: OpaquePointer, _ code: Unicode.Scalar, _ contents: String,
                          _ body: () -> Int32) -> Int32 {
        var r = sd_bus_message_open_container(message, type(code), contents)
        guard r >= 0 else { return r }
        r = body()
        guard r >= 0 else { return r }
        return sd_bus_message_close_container(message)
    }

    /// Appends one `(sv)` property whose variant holds a string.
    static func appendProperty(_ message: OpaquePointer, _ name: String, string value: String) -> Int32 {
        container(message, "r", "sv") {
            let r = append(message, string: name)
            guard r >= 0 else { return r }
            return container(message, "v", "s") { append(message, string: value) }
        }
    }

    /// Appends one `(sv)` property whose variant holds an array of `u`.
    static func appendProperty(_ message: OpaquePointer, _ name: String, uint32Array values: [UInt32]) -> Int32 {
        container(message, "r", "sv") {
            let r = append(message, string: name)
            guard r >= 0 else { return r }
            return container(message, "v", "au") {
                container(message, "a", "u") {
                    for value in values {
                        let r = append(message, uint32: value)
                        guard r >= 0 else { return r }
                    }
                    return 0
                }
            }
        }
    }
}
