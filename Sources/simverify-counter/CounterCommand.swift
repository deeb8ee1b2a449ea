import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import SimverifyClient
import SimverifyConnectionOptions
import SimverifyHardening

/// The counter station's agent: serves the page on loopback and calls simverify over mutual TLS
/// with the terminal's certificate (counter role). docs/COUNTER.md.
@main
struct CounterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simverify-counter",
        abstract: "Serve the counter station's page on loopback and call simverify for it.",
        discussion: """
            Prints the URL to open (it carries a token made at each start); the page walks the customer \
            through consent, the ID card and the liveness challenge, and shows the clerk the decision.
            """
    )

    @Option(help: "The loopback address to listen on (127.0.0.1, ::1 or localhost only).")
    var listen = "127.0.0.1"
    @Option(help: "The port to listen on.")
    var port = 8080
    /// simverify and the terminal's certificate (counter role), as every client tool names them.
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "The version of the consent text the page shows, recorded with each Verify.")
    var consentTextVersion = "counter-consent-2026.12"

    func validate() throws {
        guard ["127.0.0.1", "::1", "localhost"].contains(self.listen) else {
            throw ValidationError(
                "--listen must be a loopback address (127.0.0.1, ::1 or localhost): the page holds camera frames"
            )
        }
        guard (1...65535).contains(self.port) else { throw ValidationError("--port must be 1-65535") }
    }

    func run() async throws {
        var logger = Logger(label: "simverify-counter")
        logger.logLevel = .info
        ProcessHardening.apply(logger: logger)
        let server = try self.connection.clientConfiguration()
        for file in [server.certificate, server.privateKey, server.trustRoots]
        where !FileManager.default.isReadableFile(atPath: file) {
            throw ValidationError("cannot read \(file) (scripts/run.sh creates the development certificates)")
        }
        var random = SystemRandomNumberGenerator()
        let token = (0..<4).map { _ in String(format: "%016llx", random.next() as UInt64) }.joined()
        let agent = CounterAgent(
            accessToken: token,
            port: self.port,
            link: ServerLink(server),
            consentTextVersion: self.consentTextVersion,
            logger: logger,
            files: try CounterAgent.pageFiles()
        )
        let shown = self.listen == "::1" ? "[::1]" : self.listen
        let url = "http://\(shown):\(self.port)/?token=\(token)"
        let app = Application(
            router: agent.router(),
            // An idle connection is closed after a second: its read buffers (which held the last
            // upload's bytes) are then freed, and scrubbed by glibc, instead of waiting for reuse.
            server: .http1(configuration: HTTP1Channel.Configuration(idleTimeout: .seconds(1))),
            configuration: ApplicationConfiguration(address: .hostname(self.listen, port: self.port)),
            onServerRunning: { _ in
                FileHandle.standardOutput.write(Data("simverify-counter: open \(url)\n".utf8))
            },
            logger: logger
        )
        try await app.runService()
    }
}
