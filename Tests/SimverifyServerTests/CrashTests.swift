import Foundation
import Logging
import SimverifyAudit
import SimverifyAuditLog
import SimverifyClient
import SimverifyCore
import SimverifyServer
import Synchronization
import Testing

/// kill -9 in the middle of a Verify load: every decision a client received is in the log after
/// a restart, the tree matches the last checkpoint, and nothing is half-written.
@Suite("Crash durability", .serialized)
struct CrashTests {
    @Test func everyAnsweredDecisionSurvivesKillMinusNine() async throws {
        let pki = try TestPKI()
        let directory = pki.directory
        try ServerSecrets.writeDevelopmentKeys(to: directory + "/audit-keys.json", origin: "simverify.test/crash")
        let config = directory + "/config.json"
        try Data(
            """
            {"port": 0, "metrics": {"port": 0}, "logLevel": "info",
             "tls": {"certificate": "server.pem", "privateKey": "server-key.pem", "clientCA": "ca.pem"},
             "policy": {"livenessRequired": false}, "engine": {"workers": 2, "maxQueuedJobs": 64},
             "limits": {"tenantCallsPerSecond": 0, "terminalCallsPerSecond": 0},
             "audit": {"databasePath": "audit.sqlite", "keysPath": "audit-keys.json", "checkpointEveryEntries": 7}}
            """.utf8
        ).write(to: URL(fileURLWithPath: config))
        let server = try await ServerProcess(directory: directory, config: config)
        var configuration = pki.client("counter-carrier-a-store-0001")
        configuration.port = server.port
        let idCard = try TestJPEG.bytes(Paths.face("codait_bryan__1.jpg"))
        let selfie = try TestJPEG.bytes(Paths.face("london_008__smiling.jpg"))
        let request = VerificationRequest(idCardImage: idCard, selfieFrames: [selfie], consentGiven: true)
        final class Received: Sendable {
            let values = Mutex<[(UInt64, [UInt8])]>([])
        }
        let received = Received()
        let clients = [
            try await SimverifyClient.connect(configuration), try await SimverifyClient.connect(configuration),
        ]
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<6 {
                    let client = clients[worker % 2]
                    group.addTask {
                        for _ in 0..<200 {
                            guard let result = try? await client.verify(request) else { return }
                            if let index = result.receiptLeafIndex, let hash = result.receiptLeafHash {
                                received.values.withLock { $0.append((index, hash)) }
                            }
                        }
                    }
                }
            }
        }
        // Kill once 25 decisions were answered, or after at most 60 s (a loaded CI machine is slower).
        for _ in 0..<1200 where received.values.withLock({ $0.count }) < 25 {
            try await Task.sleep(for: .milliseconds(50))
        }
        await server.kill9()
        await load.value
        for client in clients { await client.close() }
        let answered = received.values.withLock { $0 }
        #expect(answered.count >= 10, "enough decisions answered before the kill to mean something")

        // Reopen: contiguous rows, tree consistent with the last signed checkpoint (else it refuses).
        let keys = try AuditKeys(contentsOf: directory + "/audit-keys.json")
        let log = try await AuditLog(
            configuration: .init(path: directory + "/audit.sqlite"),
            signer: keys.signer,
            logger: Logger(label: "test")
        )
        let size = await log.size
        #expect(size >= UInt64(answered.count))
        for (index, hash) in answered {
            let bytes = try await log.entries(from: index, to: index + 1)
            #expect(bytes.count == 1 && MerkleHash.leaf(bytes[0]) == hash, "entry \(index) answered but not durable")
            _ = try AuditRecord(encoded: bytes[0])
        }
        let checkpoint = try Checkpoint.open(try await log.checkpoint(), verifier: keys.signer.verifier)
        #expect(checkpoint.size == size)
        await log.close()

        // The server starts again on the same log and continues it.
        let restarted = try await ServerProcess(directory: directory, config: config)
        configuration.port = restarted.port
        let client = try await SimverifyClient.connect(configuration)
        let next = try await client.verify(request)
        #expect(next.receiptLeafIndex == size)
        await client.close()
        #expect(await restarted.stop() == 0, "SIGTERM drains and exits cleanly")
    }
}
