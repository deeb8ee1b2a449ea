import ArgumentParser

struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval", abstract: "Evaluate error rates on a pairs file.")
    func run() async throws {}
}
