import LinuxSystem

/// Why an image could not be expanded. Each message names the file it is about.
public struct ExpandError: AppAttachError, Equatable {
    public let description: String

    public init(_ description: String) { self.description = description }
}
