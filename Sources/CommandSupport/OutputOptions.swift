import ArgumentParser

/// Flags shared by read commands.
public struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON instead of text.")
    public var json = false

    public init() {}
}
