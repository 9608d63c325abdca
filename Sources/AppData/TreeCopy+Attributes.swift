import Glibc
import LinuxSystem

/// Extended attributes and modes: copied where the destination keeps them, and reported, not
/// fatal, where it cannot (see `TreeCopy`).
extension TreeCopy {
    /// Which extended attributes travel as attributes: the `user.*` ones apps write. The
    /// overlay's own (`user.overlay.*`) are its bookkeeping for one layer and stay there, but
    /// for a copy from a layer to a layer; its opaque mark travels on its own (see
    /// `copyAttributes`).
    func copiesAttribute(_ name: String) -> Bool {
        guard name.hasPrefix("user.") else { return false }
        return !name.hasPrefix("user.overlay.") || (sourceWhiteouts == .device && destinationWhiteouts == .device)
    }

    /// Whether `errno` from `fsetxattr` says the destination cannot hold that attribute (no
    /// user attributes at all, or not one so large): the attribute is dropped and reported.
    static func refusesAttribute(_ errno: Int32) -> Bool {
        [EOPNOTSUPP, E2BIG, ERANGE, EPERM, ENOSPC].contains(errno)
    }

    /// Copies the attributes that travel from `source` to `destination` (both open
    /// descriptors). Returns whether the source is an opaque directory (`user.overlay.opaque`
    /// is "y", as in a layer or a profile copy made before markers): the caller marks the
    /// destination as the destination spells it.
    @discardableResult
    func copyAttributes(from source: Int32, to destination: Int32, _ subject: String, relative: String,
                        _ report: inout Report) throws(SystemCallError) -> Bool {
        var opaque = false
        for name in try ExtendedAttributes.names(of: source, subject) {
            if name == Self.opaqueAttribute {
                opaque = try ExtendedAttributes.value(of: source, name, subject) == Self.opaqueValue
                continue
            }
            guard copiesAttribute(name), let value = try ExtendedAttributes.value(of: source, name, subject) else { continue }
            try setAttribute(name, value, on: destination, subject, relative: relative, &report)
        }
        return opaque
    }

    /// Sets one attribute; one the destination refuses is reported in `report`.
    func setAttribute(_ name: String, _ value: [UInt8], on destination: Int32, _ subject: String, relative: String,
                      _ report: inout Report) throws(SystemCallError) {
        do {
            try ExtendedAttributes.set(name, value, on: destination, subject)
        } catch where Self.refusesAttribute(error.errno) {
            report.droppedAttributes.append(DroppedAttribute(path: relative, name: name, reason: error.reason))
        }
    }

    /// Gives `descriptor` the permission bits of `mode`. A destination that cannot keep them
    /// (FAT refuses with `EPERM` or ignores them) is reported once per copy, not fatal; in a
    /// layer, a refusal is an error.
    func setMode(_ descriptor: Int32, _ mode: mode_t, _ subject: String, relative: String,
                 _ report: inout Report) throws(SystemCallError) {
        let wanted = mode & 0o7777
        do {
            try retryingOnInterrupt("chmod", subject) { fchmod(descriptor, wanted) }
        } catch where destinationWhiteouts == .marker && [EPERM, ENOSYS, EOPNOTSUPP].contains(error.errno) {
            // Reported below, with the mode the file system gave it.
        }
        guard destinationWhiteouts == .marker else { return }
        var st = stat()
        guard fstat(descriptor, &st) == 0 else { throw SystemCallError("stat", subject) }
        let has = st.st_mode & 0o7777
        if has != wanted {
            report.modesNotKept += 1
            if report.firstModeNotKept == nil {
                report.firstModeNotKept = "\(relative.isEmpty ? "." : relative) (wanted \(Self.octal(wanted)), has \(Self.octal(has)))"
            }
        }
    }

    static func octal(_ mode: mode_t) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
