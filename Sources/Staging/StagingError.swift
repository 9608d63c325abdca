import LinuxSystem

/// Why staging, destaging or reconciling failed. One line naming the image or package.
public struct StagingError: AppAttachError, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
