import Foundation
import SimverifyAudit
import SimverifyClient
import SimverifyCore
import SimverifyWire
import Testing

/// The server as a bundle's source, over mutual TLS, as `simverify-audit pull` uses it.
struct ClientLogSource: AuditLogSource {
    let client: SimverifyClient
    func checkpoint() async throws -> [UInt8] { try await self.client.checkpoint() }
    func entries(from start: UInt64, to end: UInt64) async throws -> [[UInt8]] {
        try await self.client.entries(from: start, to: end)
    }
    func consistencyProof(from: UInt64, to: UInt64) async throws -> [[UInt8]] {
        try await self.client.consistencyProof(from: from, to: to)
    }
}

@Suite("Regulator end to end", .serialized)
struct RegulatorEndToEndTests {
    @Test func aRegulatorPullsVerifiesProvesAndLooksUpOverTLS() async throws {
        let server = try await TestServer()
        let counter = try await server.client()
        let photo = try TestJPEG.bytes(Paths.face("wm_lisa__selfie1.jpg"))
        let selfie = try TestJPEG.bytes(Paths.face("wm_lisa__selfie3.jpg"))
        var receipts: [VerificationResult] = []
        for id in ["800202-2345678", "800202-2345678", "700303-3456789"] {
            receipts.append(
                try await counter.verify(
                    VerificationRequest(
                        idCardImage: photo,
                        selfieFrames: [selfie],
                        subject: SubjectReferences(nationalID: id),
                        consentGiven: true
                    )
                )
            )
        }
        let regulator = try await server.client("regulator")
        let bundle = try AuditBundle(
            directory: FileManager.default.temporaryDirectory.appendingPathComponent("reg-\(UUID())").path,
            vkey: server.auditKeys.signer.verifier.vkey
        )
        #expect(try await bundle.pull(from: ClientLogSource(client: regulator)).size == 3)
        #expect(try bundle.verify().ok)
        let last = try #require(receipts.last)
        #expect(
            try bundle.prove(index: try #require(last.receiptLeafIndex), leafHash: try #require(last.receiptLeafHash))
                .size == 3
        )
        let proof = try await regulator.inclusionProof(index: 1, size: 3)
        let checkpoint = try Checkpoint.open(
            try await regulator.checkpoint(),
            verifier: server.auditKeys.signer.verifier
        )
        #expect(
            MerkleProofVerifier.verifyInclusion(
                leafHash: try #require(receipts[1].receiptLeafHash),
                index: 1,
                size: 3,
                proof: proof,
                root: checkpoint.rootHash
            )
        )

        let lookup = try await regulator.lookupSubject(nationalID: "800202-2345678")
        #expect(lookup.matches == [0, 1] && lookup.lookupEntry == 3)
        let stats = try await regulator.stats()
        #expect(stats.contains { $0.event == "verify" && $0.decision == "APPROVED" && $0.count == 3 })
        #expect(stats.contains { $0.event == "regulator-lookup" && $0.count == 1 })
        // The look-up is itself in the log, and a second pull is consistent with the first.
        #expect(try await bundle.pull(from: ClientLogSource(client: regulator)).size == 4)
        let lookupRecord = try AuditRecord(encoded: try await regulator.entries(from: 3, to: 4)[0])
        #expect(
            lookupRecord.event == .regulatorLookup && lookupRecord.role == .regulator
                && lookupRecord.detail == "matches=2"
        )
        #expect(
            !String(decoding: try await regulator.entries(from: 0, to: 4).joined(), as: UTF8.self).contains("2345678")
        )

        // Out-of-range requests are typed errors; counters and backends may not read the log.
        await #expect(throws: SimverifyClientError.self) { _ = try await regulator.entries(from: 2, to: 99) }
        for client in [counter, try await server.client("backend-carrier-a")] {
            do {
                _ = try await client.entries(from: 0, to: 1)
                Issue.record("a non-regulator read the log")
            } catch {
                let status = error
                #expect(status.code == .permissionDenied)
            }
            await client.close()
        }
        await regulator.close()
        await server.stop()
    }
}
