import Foundation
import NIOCore
import SimverifyAudit
import SimverifyCore
import SimverifyProto
import SimverifyProtoMapping
import SimverifyWire
import Testing

@testable import SimverifyServer

/// The service in process on the stand-in engine and an in-memory audit store: decisions,
/// refusals and what each leaves in the log, table-driven, with no model, no TLS and no SQLite log.
@Suite struct ServiceTests {
    enum Expected: Sendable, CustomStringConvertible {
        case decision(Decision, [ReasonCode])
        case status(RPCStatusCode, String)
        var description: String {
            switch self {
            case .decision(let decision, let reasons): "\(decision.rawValue) \(reasons.map(\.rawValue))"
            case .status(let code, let reason): "\(code) \(reason)"
            }
        }
    }

    struct VerifyCase: Sendable, CustomTestStringConvertible {
        var idCard: String
        var selfie: String
        var consent = true
        var overloaded = false
        var expected: Expected
        var testDescription: String { "\(self.idCard) / \(self.selfie) → \(self.expected)" }
    }

    static let verifyCases: [VerifyCase] = [
        VerifyCase(idCard: "face:0", selfie: "face:10", expected: .decision(.approved, [.facesMatch])),
        VerifyCase(idCard: "face:0", selfie: "face:90", expected: .decision(.rejected, [.facesDiffer])),
        // 1 - cos 65° = 0.577: within the ±0.03 band around 0.597.
        VerifyCase(idCard: "face:0", selfie: "face:65", expected: .decision(.manualReview, [.nearThreshold])),
        VerifyCase(idCard: "face:0", selfie: "none", expected: .decision(.retry, [.noFaceInSelfie])),
        VerifyCase(idCard: "face:0", selfie: "faces:2", expected: .decision(.retry, [.severalFacesInSelfie])),
        VerifyCase(idCard: "face:0", selfie: "face:0:40", expected: .decision(.retry, [.selfieFaceTooSmall])),
        VerifyCase(idCard: "face:0", selfie: "masked:0", expected: .decision(.retry, [.selfieFaceCovered])),
        VerifyCase(idCard: "none", selfie: "face:0", expected: .decision(.retry, [.noFaceOnIDCard])),
        VerifyCase(
            idCard: "face:0:30",
            selfie: "none",
            expected: .decision(.retry, [.noFaceInSelfie, .idCardFaceTooSmall])
        ),
        VerifyCase(idCard: "face:0", selfie: "GIF89a", expected: .status(.invalidArgument, "selfie_frames[0].not_jpeg")),
        VerifyCase(idCard: "%PDF", selfie: "face:0", expected: .status(.invalidArgument, "id_card_image.not_jpeg")),
        VerifyCase(
            idCard: "face:0",
            selfie: "face:0",
            consent: false,
            expected: .status(.failedPrecondition, "consent_missing")
        ),
        VerifyCase(
            idCard: "face:0",
            selfie: "face:0",
            overloaded: true,
            expected: .status(.resourceExhausted, "overloaded")
        ),
    ]

    static let backend = try! CallerIdentity(tenant: "carrier-a", role: .backend)

    static func verifyPayload(idCard: String, selfie: String, consent: Bool = true) throws -> ByteBuffer {
        var request = Simverify_V1_VerifyRequest()
        request.idCardImage = Data(StandInEngine.image(idCard))
        request.selfieFrames = [Data(StandInEngine.image(selfie))]
        request.consent.given = consent
        request.consent.textVersion = "test-1"
        request.subject.nationalID = "900101-1234567"
        return try VerificationService.encode(request)
    }

    @Test(arguments: Self.verifyCases) func verify(_ test: VerifyCase) async throws {
        let engine = StandInEngine()
        engine.overloaded.store(test.overloaded, ordering: .relaxed)
        let store = MemoryAuditStore()
        let service = try VerificationService.standIn(engine: engine, store: store)
        let result = await service.handle(
            method: .verify,
            payload: try Self.verifyPayload(idCard: test.idCard, selfie: test.selfie, consent: test.consent),
            caller: Self.backend
        )
        let records = await store.records
        switch (test.expected, result) {
        case (.decision(let decision, let reasons), .success(let payload)):
            let response: Simverify_V1_VerifyResponse = try VerificationService.decode(payload)
            #expect(Decision(response.decision) == decision)
            #expect(response.reasons.compactMap(ReasonCode.init) == reasons)
            // Exactly one record, the decision's, with both images' digests and the engine's model.
            #expect(records.count == 1)
            let record = try #require(records.first)
            #expect(record.event == .verify && record.decision == decision && record.reasons == reasons)
            #expect(record.images.map(\.kind) == [.idCard, .selfieFrame])
            #expect(record.modelVersion == "stand-in-1")
            #expect(response.receipt.leafIndex == 0)
            #expect(response.receipt.leafHash == Data(MerkleHash.leaf(try record.encoded())))
        case (.status(let code, let reason), .failure(let status)):
            #expect(status.code == code && status.reason == reason)
            // A refused call decides nothing; only the overload is recorded, as a limit.
            #expect(!records.contains { $0.event == .verify })
            #expect(records.map(\.detail) == (reason == "overloaded" ? ["overloaded:Verify"] : []))
        default:
            Issue.record("expected \(test.expected), got \(result)")
        }
    }

    @Test func aDecisionTheLogCannotTakeIsNotAnswered() async throws {
        let store = MemoryAuditStore()
        await store.setFailing(true)
        let service = try VerificationService.standIn(store: store)
        let result = await service.handle(
            method: .verify,
            payload: try Self.verifyPayload(idCard: "face:0", selfie: "face:0"),
            caller: Self.backend
        )
        guard case .failure(let status) = result else {
            Issue.record("a decision was answered without its record")
            return
        }
        #expect(status.code == .unavailable && status.reason == "audit_unavailable")
    }

    @Test func aSealedTemplateStandsInForTheCardForItsTenantOnly() async throws {
        let store = MemoryAuditStore()
        let engine = StandInEngine()
        let service = try VerificationService.standIn(engine: engine, store: store)
        var extract = Simverify_V1_ExtractTemplateRequest()
        extract.idCardImage = Data(StandInEngine.image("face:0"))
        let sealedResult = await service.handle(
            method: .extractTemplate,
            payload: try VerificationService.encode(extract),
            caller: Self.backend
        )
        let sealed: Simverify_V1_ExtractTemplateResponse = try VerificationService.decode(sealedResult.get())

        func verify(_ selfie: String, as caller: CallerIdentity) async throws -> Result<ByteBuffer, RPCStatus> {
            var request = Simverify_V1_VerifyRequest()
            request.sealedTemplate = sealed.sealedTemplate
            request.selfieFrames = [Data(StandInEngine.image(selfie))]
            request.consent.given = true
            return await service.handle(method: .verify, payload: try VerificationService.encode(request), caller: caller)
        }
        let same: Simverify_V1_VerifyResponse = try VerificationService.decode(
            try await verify("face:5", as: Self.backend).get()
        )
        #expect(Decision(same.decision) == .approved)
        let other: Simverify_V1_VerifyResponse = try VerificationService.decode(
            try await verify("face:120", as: Self.backend).get()
        )
        #expect(Decision(other.decision) == .rejected)
        let foreign = try await verify("face:5", as: try CallerIdentity(tenant: "carrier-b", role: .backend))
        guard case .failure(let status) = foreign else {
            Issue.record("another tenant used the template")
            return
        }
        #expect(status.reason == "template_invalid")
        // The card went through the engine once: the template's Verify calls analysed only selfies.
        #expect(engine.jobs.load(ordering: .relaxed) == 3)
        let events = await store.records.map(\.event)
        #expect(events == [.extractTemplate, .verify, .verify])
    }

    @Test func healthAndMalformedPayloads() async throws {
        let service = try VerificationService.standIn()
        let health: Simverify_V1_HealthResponse = try VerificationService.decode(
            try await service.handle(method: .health, payload: ByteBuffer(), caller: Self.backend).get()
        )
        #expect(health.status == .serving && health.faceWorkers == 1)
        for method in [MethodID.health, .verify, .extractTemplate, .startSession] {
            let result = await service.handle(method: method, payload: ByteBuffer(bytes: [0xFF, 0xFF]), caller: Self.backend)
            guard case .failure(let status) = result else {
                Issue.record("\(method) took a malformed payload")
                continue
            }
            #expect(status.code == .invalidArgument && status.reason == "malformed_payload", "\(method)")
        }
    }
}
