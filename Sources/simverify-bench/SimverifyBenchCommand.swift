import ArgumentParser

/// The benchmarks and load tools: kept out of the product binary (`simverify`), which holds
/// only what clerks, operators, integrators and assessors use. Each prints its figures beside a
/// reference measured in the same run; the scripts in scripts/ run them on the fixtures.
@main
struct SimverifyBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simverify-bench",
        abstract:
            "simverify's benchmarks: the engine, a liveness Verify, the audit log, load, soak and scale-out against a server.",
        subcommands: [
            BenchCommand.self, BenchLivenessCommand.self, BenchAuditCommand.self, LoadTestCommand.self,
            SoakCommand.self, ScaleLoadCommand.self, ReceiptsCommand.self,
        ]
    )
}
