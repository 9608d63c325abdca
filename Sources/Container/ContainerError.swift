/// Why an app could not be started in its container; the description is one line.
public struct ContainerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The message, one line.
    public let description: String
    /// An error with `description`.
    public init(_ description: String) { self.description = description }
}
