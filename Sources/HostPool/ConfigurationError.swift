import LinuxSystem

/// A configuration file that cannot be used: which file, which line, and what is wrong.
///
/// The description is one line in the form compilers use, so editors can jump to it:
/// `hostpools/pool1.toml:14: registration must be "delayed" or "regular", not "eager"`.
public struct ConfigurationError: AppAttachError, Equatable, Sendable {
    /// The file as the reader should recognise it (relative to the share for host-pool files).
    public let file: String
    /// 1-based line of the offending key or table, when the problem has one.
    public let line: Int?
    /// What is wrong, without the file and line.
    public let message: String
    /// The file could not be read (opened, or read to its end): the problem may be the share's
    /// for a moment, not the file's, and reading it again may succeed.
    public let unreadable: Bool

    public init(file: String, line: Int?, message: String, unreadable: Bool = false) {
        self.file = file
        self.line = line
        self.message = message
        self.unreadable = unreadable
    }

    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}
