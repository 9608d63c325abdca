import Glibc

/// A failed system call: which call, on what, and the `errno` it returned.
///
/// The description reads like the rest of the tool's errors, for example
/// `open '/srv/app.vhdx': No such file or directory`.
public struct SystemCallError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The call that failed, as a user would recognise it: `open`, `ioctl(LOOP_CONFIGURE)`.
    public let call: String
    /// The path or object the call was about, if any.
    public let subject: String?
    /// The `errno` value.
    public let errno: Int32

    public init(_ call: String, _ subject: String? = nil, errno: Int32 = Glibc.errno) {
        self.call = call
        self.subject = subject
        self.errno = errno
    }

    /// The C library's text for `errno`.
    public var reason: String { String(cString: strerror(errno)) }

    public var description: String {
        if let subject { return "\(call) '\(subject)': \(reason)" }
        return "\(call): \(reason)"
    }
}

/// Runs `body` until it returns something other than -1 with `EINTR`.
/// Returns the result, or throws `SystemCallError` with the caller's wording.
@discardableResult
@inlinable
public func retryingOnInterrupt<T: BinaryInteger>(
    _ call: String, _ subject: String? = nil, _ body: () -> T
) throws(SystemCallError) -> T {
    while true {
        let r = body()
        if r != -1 { return r }
        let e = Glibc.errno
        if e == EINTR { continue }
        throw SystemCallError(call, subject, errno: e)
    }
}
