import CLinuxShims
import Glibc

/// The extended attributes of an open file or directory, read and written through its
/// descriptor, so that no path (and no symbolic link) is involved.
public enum ExtendedAttributes {
    /// The names of the attributes of `descriptor` (`subject` names it in errors).
    /// The corresponding C call is `flistxattr`.
    public static func names(of descriptor: Int32, _ subject: String) throws(SystemCallError) -> [String] {
        while true {
            let size = appattach_flistxattr(descriptor, nil, 0)
            if size < 0 {
                if errno == ENOTSUP { return [] }
                throw SystemCallError("flistxattr", subject)
            }
            if size == 0 { return [] }
            var buffer = [CChar](repeating: 0, count: size)
            let n = appattach_flistxattr(descriptor, &buffer, size)
            if n < 0 {
                if errno == ERANGE { continue } // grew in between
                throw SystemCallError("flistxattr", subject)
            }
            return buffer.prefix(n).split(separator: 0).map { String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        }
    }

    /// The value of attribute `name` of `descriptor`; nil when it is gone.
    /// The corresponding C call is `fgetxattr`.
    public static func value(of descriptor: Int32, _ name: String, _ subject: String) throws(SystemCallError) -> [UInt8]? {
        while true {
            let size = appattach_fgetxattr(descriptor, name, nil, 0)
            if size < 0 {
                if errno == ENODATA { return nil }
                throw SystemCallError("fgetxattr \(name)", subject)
            }
            var buffer = [UInt8](repeating: 0, count: size)
            let n = buffer.withUnsafeMutableBytes { appattach_fgetxattr(descriptor, name, $0.baseAddress, size) }
            if n < 0 {
                if errno == ERANGE { continue }
                if errno == ENODATA { return nil }
                throw SystemCallError("fgetxattr \(name)", subject)
            }
            return Array(buffer.prefix(n))
        }
    }

    /// Sets attribute `name` of `descriptor` to `value`. The corresponding C call is `fsetxattr`.
    public static func set(_ name: String, _ value: [UInt8], on descriptor: Int32, _ subject: String) throws(SystemCallError) {
        let rc = value.withUnsafeBytes { appattach_fsetxattr(descriptor, name, $0.baseAddress, $0.count, 0) }
        guard rc == 0 else { throw SystemCallError("fsetxattr \(name)", subject) }
    }
}
