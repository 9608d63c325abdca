import ArgumentParser

/// Placeholder until the command is written.
struct ExpandCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "expand", abstract: "(not yet available)")
    func run() async throws { throw ValidationError("expand is not available yet") }
}
