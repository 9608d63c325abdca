import ArgumentParser

/// `appattach-bench`: measures appattach side by side with the baseline tool doing the same job,
/// in one run, and prints a table. Numbers depend on the machine: compare the columns, not runs.
@main
struct AppAttachBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "appattach-bench",
        abstract: "Benchmarks of appattach against baseline tools.",
        subcommands: [ExpandBenchmark.self, StageBenchmark.self, SignatureBenchmark.self, AppDataBenchmark.self, LayersBenchmark.self, LaunchBenchmark.self, FloodCommand.self])
}
