import Crypto
import Foundation
import SimverifyAudit
import SimverifyAuditLog
import SimverifyClient
import SimverifyCore
import SimverifyFaceEngine
import Testing

/// Every decision is in the audit log before it is answered, with a receipt that proves it.
@Suite("Audit end to end", .serialized)
struct AuditEndToEndTests {
    @Test func everyDecisionCarriesAReceiptProvableAgainstACheckpoint() async throws {
        let server = try await TestServer()
        let backend = try await server.client("backend-carrier-a")
        let idCard = try TestJPEG.bytes(Paths.face("london_001__neutral.jpg"))
        let selfie = try TestJPEG.bytes(Paths.face("london_001__smiling.jpg"))
        let subject = SubjectReferences(
            nationalID: "900101-1234567",
            msisdn: "+82-10-5555-0101",
            iccid: "8982000000000000001"
        )
        var results: [VerificationResult] = []
        for _ in 0..<3 {
            results.append(
                try await backend.verify(
                    VerificationRequest(
                        idCardImage: idCard,
                        selfieFrames: [selfie],
                        subject: subject,
                        consentGiven: true
                    )
                )
            )
        }
        #expect(results.map(\.receiptLeafIndex) == [0, 1, 2])
        // The same request three times within a second: three different records (each has its
        // own event id), never one leaf hash twice.
        #expect(Set(results.compactMap(\.receiptLeafHash)).count == 3)
        let note = try await server.audit.latestSignedCheckpoint()
        let checkpoint = try Checkpoint.open(note, verifier: server.auditKeys.signer.verifier)
        #expect(checkpoint.size == 3)
        for result in results {
            let index = try #require(result.receiptLeafIndex)
            let proof = try await server.audit.inclusionProof(index: index, size: checkpoint.size)
            #expect(
                MerkleProofVerifier.verifyInclusion(
                    leafHash: try #require(result.receiptLeafHash),
                    index: index,
                    size: checkpoint.size,
                    proof: proof,
                    root: checkpoint.rootHash
                )
            )
        }
        // The record: decision, caller, digests of the images, keyed hashes of the identifiers.
        let bytes = try await server.audit.entries(from: 0, to: 1)[0]
        let record = try AuditRecord(encoded: bytes)
        #expect(record.decision == .approved && record.tenant == "carrier-a" && record.role == .backend)
        // The model that decided, down to its files' pinned hashes.
        #expect(record.modelVersion == FaceModelFiles.version(of: .sface))
        #expect(record.modelVersion.contains(String(FaceModelFiles.sface.sha256.prefix(16))))
        #expect(
            record.images.map(\.sha256)
                == [idCard, selfie].map { b in b.withUnsafeBytes { Array(SHA256.hash(data: $0)) } }
        )
        #expect(record.identifiers.map(\.field) == [.nationalID, .msisdn, .iccid])
        #expect(try server.auditKeys.identifiers.hash("9001011234567", field: .nationalID) == record.identifiers[0])
        let text = String(decoding: bytes, as: UTF8.self)
        for raw in ["900101", "1234567", "5555", "8982000000000000001"] { #expect(!text.contains(raw)) }
        // A look-up by ID number finds exactly these records.
        let hmacs = server.auditKeys.identifiers.allHashes("900101-1234567", field: .nationalID).map(\.hmac)
        #expect(try await server.audit.entries(matching: hmacs) == [0, 1, 2])
        await backend.close()
        await server.stop()
    }

    @Test func aRefusedRequestLeavesNoRecordAndRetryDecisionsDo() async throws {
        let server = try await TestServer()
        let counter = try await server.client()
        let photo = try TestJPEG.bytes(Paths.face("london_005__neutral.jpg"))
        await #expect(throws: (any Error).self) {
            _ = try await counter.verify(
                VerificationRequest(idCardImage: photo, selfieFrames: [photo], consentGiven: false)
            )
        }
        #expect(await server.audit.size == 0)
        let retry = try await counter.verify(
            VerificationRequest(idCardImage: try TestJPEG.blank(), selfieFrames: [photo], consentGiven: true)
        )
        #expect(retry.decision == .retry && retry.receiptLeafIndex == 0)
        #expect(await server.audit.size == 1)
        await counter.close()
        await server.stop()
    }
}
