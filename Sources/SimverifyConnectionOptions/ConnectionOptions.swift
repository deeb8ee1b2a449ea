import ArgumentParser
import SimverifyClient

/// Options naming the server and the client certificate: `simverify verify`, `start-session`,
/// `health`, the benchmarks' load tools and the counter agent share them (the development
/// counter terminal's certificate by default).
package struct ConnectionOptions: ParsableArguments {
    package init() {}

    @Option(help: "Server as host:port.") package var server: String = "127.0.0.1:7443"
    @Option(help: "Client certificate (PEM).") package var cert: String =
        "certs/generated/counter-carrier-a-store-0001.pem"
    @Option(help: "Client private key (PEM).") package var key: String =
        "certs/generated/counter-carrier-a-store-0001-key.pem"
    @Option(help: "CA certificate that issued the server's certificate (PEM).") package var ca: String =
        "certs/generated/ca.pem"
    @Option(help: "The name checked against the server's certificate.") package var serverName: String = "localhost"

    package func clientConfiguration() throws -> ClientConfiguration {
        guard let colon = server.lastIndex(of: ":"), let port = Int(server[server.index(after: colon)...]) else {
            throw ValidationError("--server must be host:port")
        }
        return ClientConfiguration(
            host: String(server[..<colon]),
            port: port,
            certificate: cert,
            privateKey: key,
            trustRoots: ca,
            serverHostname: serverName
        )
    }
}
