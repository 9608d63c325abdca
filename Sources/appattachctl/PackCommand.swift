import ArgumentParser

/// Placeholder until the command is written.
struct PackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pack", abstract: "(not yet available)")
    func run() async throws { throw ValidationError("pack is not available yet") }
}
