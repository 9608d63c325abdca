import ArgumentParser

/// Placeholder until the command is written.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "(not yet available)")
    func run() async throws { throw ValidationError("verify is not available yet") }
}
