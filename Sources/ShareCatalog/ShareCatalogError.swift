import LinuxSystem

/// An upload or catalog update that cannot be done: the file or object, and why.
/// One line, like every error the tools print: `app.vhdx: cannot be staged: …`.
public struct ShareCatalogError: AppAttachError, Equatable, Sendable {
    /// The file or name the problem is about.
    public let subject: String
    public let reason: String

    public init(_ subject: String, _ reason: String) {
        self.subject = subject
        self.reason = reason
    }

    public var description: String { "\(subject): \(reason)" }
}
