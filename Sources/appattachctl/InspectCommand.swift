import ArgumentParser

/// Placeholder until the command is written.
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "(not yet available)")
    func run() async throws { throw ValidationError("inspect is not available yet") }
}
