import ArgumentParser
import Foundation
import SimverifyAudit
import SimverifyCommandSupport
import SimverifyPKI
import SimverifyServer

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
    @Option(help: "Development audit key file to create when missing (checkpoint signing and identifier keys).")
    var auditKeys: String = ".data/audit-keys.json"
    @Option(help: "The audit log's origin (the checkpoint key's name).") var origin: String = "simverify.dev/audit"
    @Flag(help: "Replace an existing set.") var force = false

    func run() throws {
        let written = try DevelopmentPKI.writeDevelopmentSet(to: out, overwrite: force)
        if written.isEmpty {
            print("\(out): development certificates already present (use --force to replace)")
        } else {
            print("wrote \(written.count) files to \(out)")
        }
        // A key file from before liveness sessions gets a session key added, keeping its log
        // signing key (a new one would orphan the log's checkpoints).
        if !force {
            for kind in try ServerSecrets.addMissing(to: auditKeys) { print("added a \(kind) key to \(auditKeys)") }
        }
        // Also replaces a key file this version cannot read (an older format): development only.
        if force || (try? AuditKeys(contentsOf: auditKeys)) == nil || (try? ServerSecrets(contentsOf: auditKeys)) == nil
        {
            try ServerSecrets.writeDevelopmentKeys(to: auditKeys, origin: origin)
            print(
                "wrote \(auditKeys) and \(AuditKeys.vkeyPath(forKeyFile: auditKeys)) (regulators verify checkpoints with the .vkey)"
            )
        }
    }
}
