import CACL
import Glibc

/// A POSIX access control list, set on files with libacl.
///
/// This is the one place that calls libacl. An ACL is built from its short text form
/// (`u::r-x,g::---,g:1234:r-x,m::r-x,o::---`), validated, and applied as the access ACL of a file
/// or the default ACL of a directory (what new entries inherit).
public struct AccessControlList: Sendable, Equatable, CustomStringConvertible {
    /// The ACL in libacl's short text form, numeric ids.
    public let text: String

    /// Parses and validates `text`. The corresponding C calls are `acl_from_text` and `acl_valid`.
    public init(_ text: String) throws {
        guard let acl = acl_from_text(text) else { throw SystemCallError("acl_from_text", text) }
        defer { acl_free(UnsafeMutableRawPointer(acl)) }
        guard acl_valid(acl) == 0 else { throw SystemCallError("acl_valid", text, errno: EINVAL) }
        self.text = text
    }

    public var description: String { text }

    /// Which of a file's ACLs to set.
    public enum Kind: Sendable {
        /// The ACL that decides access to the file itself.
        case access
        /// A directory's default ACL, inherited by entries created in it.
        case `default`

        var cValue: acl_type_t {
            switch self {
            case .access: acl_type_t(ACL_TYPE_ACCESS)
            case .default: acl_type_t(ACL_TYPE_DEFAULT)
            }
        }
    }

    /// Sets this ACL on `path` (not following a final symlink is the caller's job: call it on
    /// regular files and directories only). The corresponding C call is `acl_set_file`.
    public func apply(to path: String, as kind: Kind = .access) throws {
        guard let acl = acl_from_text(text) else { throw SystemCallError("acl_from_text", text) }
        defer { acl_free(UnsafeMutableRawPointer(acl)) }
        if acl_set_file(path, kind.cValue, acl) != 0 {
            throw SystemCallError("acl_set_file", path)
        }
    }

    /// Reads the ACL of `path` in short text form with numeric ids (`acl_get_file`, `acl_to_any_text`).
    public static func read(from path: String, kind: Kind = .access) throws -> String {
        guard let acl = acl_get_file(path, kind.cValue) else { throw SystemCallError("acl_get_file", path) }
        defer { acl_free(UnsafeMutableRawPointer(acl)) }
        guard let text = acl_to_any_text(acl, nil, CChar(UInt8(ascii: ",")), Int32(TEXT_ABBREVIATE | TEXT_NUMERIC_IDS)) else {
            throw SystemCallError("acl_to_any_text", path)
        }
        defer { acl_free(text) }
        return String(cString: text)
    }
}
