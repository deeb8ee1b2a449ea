import ArgumentParser
import SimverifyPKI

struct DevCertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-certs",
        abstract: "Create a development CA, a server certificate and client certificates.",
        discussion: """
            Writes ca.pem, server.pem and server-key.pem, and for each client NAME.pem and
            NAME-key.pem: counter-carrier-a-store-0001, backend-carrier-a, regulator,
            counter-carrier-b-store-0001, operator. Keeps an existing set unless --force.
            For development only: production uses the carriers' own PKI.
            """
    )

    @Option(help: "Directory to write to.") var out: String = "certs/generated"
    @Flag(help: "Replace an existing set.") var force = false

    func run() throws {
        let written = try DevelopmentPKI.writeDevelopmentSet(to: out, overwrite: force)
        if written.isEmpty {
            print("\(out): development certificates already present (use --force to replace)")
        } else {
            print("wrote \(written.count) files to \(out)")
        }
    }
}
