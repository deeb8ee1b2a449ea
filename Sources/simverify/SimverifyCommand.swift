import ArgumentParser

@main
struct SimverifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simverify",
        abstract: "Identity verification for SIM registration: a live selfie against an ID-card photo.",
        subcommands: [
            ServeCommand.self, StartSessionCommand.self, VerifyCommand.self, HealthCommand.self, DevCertsCommand.self,
            CompareCommand.self,
            EvalCommand.self, CalibrateCommand.self, EvalLivenessCommand.self, AssessCommand.self,
        ]
    )
}
