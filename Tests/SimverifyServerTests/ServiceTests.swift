import Foundation
import Logging
import NIOCore
import SimverifyAudit
import SimverifyAuditLog
import SimverifyCore
import SimverifyProto
import SimverifyWire
import Testing

@testable import SimverifyServer

/// The service's typed API in process on the stand-in engine and an in-memory audit store:
/// decisions, refusals and what each leaves in the log, table-driven, with no model, no TLS, no
/// protobuf and no SQLite log.
@Suite struct ServiceTests {
    enum Expected: Sendable, CustomStringConvertible {
        case decision(Decision, [ReasonCode])
        case error(ServiceError.Code, ServiceError.Reason)
        var description: String {
            switch self {
            case .decision(let decision, let reasons): "\(decision.rawValue) \(reasons.map(\.rawValue))"
            case .error(let code, let reason): "\(code) \(reason)"
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
        VerifyCase(
            idCard: "face:0",
            selfie: "GIF89a",
            expected: .error(.invalidArgument, .image(field: "selfie_frames[0]", .notJPEG))
        ),
        VerifyCase(
            idCard: "%PDF",
            selfie: "face:0",
            expected: .error(.invalidArgument, .image(field: "id_card_image", .notJPEG))
        ),
        VerifyCase(
            idCard: "face:0",
            selfie: "face:0",
            consent: false,
            expected: .error(.failedPrecondition, .consentMissing)
        ),
        VerifyCase(
            idCard: "face:0",
            selfie: "face:0",
            overloaded: true,
            expected: .error(.resourceExhausted, .overloaded)
        ),
    ]

    static let backend = try! CallerIdentity(tenant: "carrier-a", role: .backend)

    static func buffer(_ script: String) -> ZeroizingBuffer {
        StandInEngine.image(script).withUnsafeBytes { ZeroizingBuffer(copying: $0) }
    }

    static func request(idCard: String, selfie: String, consent: Bool = true) -> VerifyRequest {
        VerifyRequest(
            idCardImage: Self.buffer(idCard),
            selfieFrames: [Self.buffer(selfie)],
            subject: SubjectReferences(nationalID: "900101-1234567"),
            consentGiven: consent
        )
    }

    @Test(arguments: Self.verifyCases) func verify(_ test: VerifyCase) async throws {
        let engine = StandInEngine()
        engine.overloaded.store(test.overloaded, ordering: .relaxed)
        let store = MemoryAuditStore()
        let service = try VerificationService.standIn(engine: engine, store: store)
        let result: Result<VerifyResult, ServiceError>
        do {
            result = .success(
                try await service.verify(
                    Self.request(idCard: test.idCard, selfie: test.selfie, consent: test.consent),
                    caller: Self.backend
                )
            )
        } catch let error as ServiceError {
            result = .failure(error)
        }
        let records = await store.records
        switch (test.expected, result) {
        case (.decision(let decision, let reasons), .success(let answer)):
            #expect(answer.decision == decision && answer.reasons == reasons)
            // Exactly one record, the decision's, with both images' digests and the engine's model.
            #expect(records.count == 1)
            let record = try #require(records.first)
            #expect(record.event == .verify && record.decision == decision && record.reasons == reasons)
            #expect(record.images.map(\.kind) == [.idCard, .selfieFrame])
            #expect(record.modelVersion == "stand-in-1")
            #expect(record.identifiers.map(\.field) == [.nationalID])
            #expect(answer.receipt == AuditReceipt(leafIndex: 0, leafHash: MerkleHash.leaf(try record.encoded())))
            // Backends get the scores when there is a distance; a capture problem has none.
            #expect((answer.scores != nil) == (record.distanceMilli != nil))
        case (.error(let code, let reason), .failure(let error)):
            #expect(error.code == code && error.reason == reason)
            // A refused call decides nothing; only the overload is recorded, as a limit.
            #expect(!records.contains { $0.event == .verify })
            #expect(records.map(\.detail) == (reason == .overloaded ? ["overloaded:Verify"] : []))
        default:
            Issue.record("expected \(test.expected), got \(result)")
        }
    }

    /// Requests refused before any work, each with its reason, in the order the checks run.
    static let malformed: [(String, VerifyRequest, ServiceError.Reason)] = [
        ("no reference", VerifyRequest(selfieFrames: [Self.buffer("face:0")], consentGiven: true), .idCardMissing),
        (
            "both references",
            VerifyRequest(
                idCardImage: Self.buffer("face:0"),
                sealedTemplate: [1, 2, 3],
                selfieFrames: [Self.buffer("face:0")],
                consentGiven: true
            ),
            .idCardMissing
        ),
        (
            "no frame", VerifyRequest(idCardImage: Self.buffer("face:0"), selfieFrames: [], consentGiven: true),
            .selfieMissing
        ),
        (
            "33 frames",
            VerifyRequest(
                idCardImage: Self.buffer("face:0"),
                selfieFrames: Array(repeating: Self.buffer("face:0"), count: 33),
                consentGiven: true
            ),
            .tooManyFrames
        ),
        (
            "a burst without a session",
            VerifyRequest(
                idCardImage: Self.buffer("face:0"),
                selfieFrames: Array(repeating: Self.buffer("face:0"), count: 5),
                consentGiven: true
            ),
            .sessionRequired
        ),
        (
            "a session with one frame",
            VerifyRequest(
                idCardImage: Self.buffer("face:0"),
                selfieFrames: [Self.buffer("face:0")],
                consentGiven: true,
                sessionToken: "svs1.x"
            ),
            .tooFewFrames
        ),
        (
            "a forged token",
            VerifyRequest(
                idCardImage: Self.buffer("face:0"),
                selfieFrames: Array(repeating: Self.buffer("face:0"), count: 5),
                consentGiven: true,
                sessionToken: "svs1.forged"
            ),
            .session(.invalid)
        ),
        (
            "frame times for some frames",
            VerifyRequest(
                idCardImage: Self.buffer("face:0"),
                selfieFrames: [Self.buffer("face:0")],
                consentGiven: true,
                frameTimes: [0, 100]
            ),
            .frameTimesMismatch
        ),
        (
            "a malformed identifier",
            VerifyRequest(
                idCardImage: Self.buffer("face:0"),
                selfieFrames: [Self.buffer("face:0")],
                subject: SubjectReferences(msisdn: "010-1234-abcd"),
                consentGiven: true
            ),
            .malformedIdentifier
        ),
    ]

    @Test func malformedRequestsAreRefusedBeforeAnyWork() async throws {
        let engine = StandInEngine()
        let store = MemoryAuditStore()
        let service = try VerificationService.standIn(engine: engine, store: store)
        for (name, request, reason) in Self.malformed {
            do {
                _ = try await service.verify(request, caller: Self.backend)
                Issue.record("\(name) was taken")
            } catch let error as ServiceError {
                #expect(error.reason == reason, "\(name)")
            }
        }
        #expect(engine.jobs.load(ordering: .relaxed) == 0)
        // Only the forged token is recorded (a token failure); nothing was decided.
        let events = await store.records.map(\.event)
        #expect(events == [.tokenFailure])
    }

    @Test func aSessionAttemptTheEngineCannotTakeIsGivenBack() async throws {
        let engine = StandInEngine()
        let store = MemoryAuditStore()
        let sessions = MemorySessionStore()
        let service = try VerificationService.standIn(engine: engine, store: store, sessions: sessions)
        let counter = try CallerIdentity(tenant: "carrier-a", role: .counter, terminal: "store-0001")
        let grant = try await service.startSession(caller: counter)
        #expect(grant.attemptsAllowed == 3 && grant.challenge.count == MatchPolicy.standard.liveness.challengeSteps)
        let burst = VerifyRequest(
            idCardImage: Self.buffer("face:0"),
            selfieFrames: Array(repeating: Self.buffer("face:0"), count: 5),
            consentGiven: true,
            sessionToken: grant.token
        )
        // A full queue, then an engine fault: neither decides, neither spends the attempt.
        engine.overloaded.store(true, ordering: .relaxed)
        for expected in [ServiceError.Reason.overloaded, .internal] {
            do {
                _ = try await service.verify(burst, caller: counter)
                Issue.record("decided without the engine")
            } catch let error as ServiceError {
                #expect(error.reason == expected)
            }
            engine.overloaded.store(false, ordering: .relaxed)
            #expect(sessions.all == [SessionState(attempts: 0)])
        }
        // The token is bound to its caller: another terminal's Verify is refused and recorded.
        let other = try CallerIdentity(tenant: "carrier-a", role: .counter, terminal: "store-0002")
        do {
            _ = try await service.verify(burst, caller: other)
            Issue.record("another terminal used the session")
        } catch let error as ServiceError {
            #expect(error.code == .permissionDenied && error.reason == .session(.otherCaller))
        }
        let events = await store.records.map(\.event)
        #expect(events == [.sessionStart, .limitExceeded, .tokenFailure])
    }

    @Test func aDecisionTheLogCannotTakeIsNotAnswered() async throws {
        let store = MemoryAuditStore()
        await store.setFailing(true)
        let service = try VerificationService.standIn(store: store)
        do {
            let answer = try await service.verify(
                Self.request(idCard: "face:0", selfie: "face:0"),
                caller: Self.backend
            )
            Issue.record("a decision was answered without its record: \(answer.decision)")
        } catch let error as ServiceError {
            #expect(error.code == .unavailable && error.reason == .auditUnavailable)
        }
    }

    @Test func aSealedTemplateStandsInForTheCardForItsTenantOnly() async throws {
        let store = MemoryAuditStore()
        let engine = StandInEngine()
        let service = try VerificationService.standIn(engine: engine, store: store)
        let sealed = try await service.extractTemplate(idCard: Self.buffer("face:0"), caller: Self.backend)

        func verify(_ selfie: String, as caller: CallerIdentity) async throws -> VerifyResult {
            try await service.verify(
                VerifyRequest(sealedTemplate: sealed.sealed, selfieFrames: [Self.buffer(selfie)], consentGiven: true),
                caller: caller
            )
        }
        #expect(try await verify("face:5", as: Self.backend).decision == .approved)
        #expect(try await verify("face:120", as: Self.backend).decision == .rejected)
        do {
            _ = try await verify("face:5", as: try CallerIdentity(tenant: "carrier-b", role: .backend))
            Issue.record("another tenant used the template")
        } catch let error as ServiceError {
            #expect(error.reason == .templateInvalid)
        }
        // The card went through the engine once: the template's Verify calls analysed only selfies.
        #expect(engine.jobs.load(ordering: .relaxed) == 3)
        let events = await store.records.map(\.event)
        #expect(events == [.extractTemplate, .verify, .verify])
        // A card without one usable face is refused, and the refusal recorded.
        do {
            _ = try await service.extractTemplate(idCard: Self.buffer("faces:2"), caller: Self.backend)
            Issue.record("a card with two faces was sealed")
        } catch let error as ServiceError {
            #expect(error.code == .failedPrecondition && error.reason.rawValue == "several_faces_on_id_card")
        }
        #expect(await store.records.last?.detail == "refused")
    }
}

/// The router: wire payloads to the service's calls and back; every wire status is made here.
@Suite struct RouterTests {
    static let backend = try! CallerIdentity(tenant: "carrier-a", role: .backend)

    @Test func aVerifyTravelsThroughTheWireFormAndBack() async throws {
        let store = MemoryAuditStore()
        let router = Router(service: try VerificationService.standIn(store: store), logger: Logger(label: "test"))
        var request = Simverify_V1_VerifyRequest()
        request.idCardImage = Data(StandInEngine.image("face:0"))
        request.selfieFrames = [Data(StandInEngine.image("face:90"))]
        request.consent.given = true
        let payload = try Router.encode(request)
        let response: Simverify_V1_VerifyResponse = try Router.decode(
            try await router.handle(method: .verify, payload: payload, caller: Self.backend).get()
        )
        #expect(response.decision == .rejected && response.reasons == [.facesDiffer])
        #expect(abs(response.scores.distance - 1) < 1e-5 && abs(response.scores.threshold - 0.597) < 1e-5)
        #expect(response.receipt.leafIndex == 0 && response.receipt.leafHash.count == 32)
        // The frame's bytes were zeroed once decoded.
        #expect(payload.readableBytesView.allSatisfy { $0 == 0 })
    }

    @Test func serviceErrorsAndBadPayloadsBecomeTheirDocumentedStatuses() async throws {
        let router = Router(service: try VerificationService.standIn(), logger: Logger(label: "test"))
        var noConsent = Simverify_V1_VerifyRequest()
        noConsent.idCardImage = Data(StandInEngine.image("face:0"))
        noConsent.selfieFrames = [Data(StandInEngine.image("face:0"))]
        var notJPEG = noConsent
        notJPEG.consent.given = true
        notJPEG.selfieFrames = [Data("GIF89a".utf8)]
        let cases: [(MethodID, ByteBuffer, RPCStatusCode, String)] = [
            (.verify, try Router.encode(noConsent), .failedPrecondition, "consent_missing"),
            (.verify, try Router.encode(notJPEG), .invalidArgument, "selfie_frames[0].not_jpeg"),
            (.extractTemplate, ByteBuffer(), .invalidArgument, "id_card_missing"),
            (.lookupSubject, ByteBuffer(), .invalidArgument, "national_id_missing"),
            (.health, ByteBuffer(bytes: [0xFF, 0xFF]), .invalidArgument, "malformed_payload"),
            (.verify, ByteBuffer(bytes: [0xFF, 0xFF]), .invalidArgument, "malformed_payload"),
            (.startSession, ByteBuffer(bytes: [0xFF, 0xFF]), .invalidArgument, "malformed_payload"),
            (MethodID(rawValue: 99), ByteBuffer(), .unimplemented, "unknown_method"),
        ]
        for (method, payload, code, reason) in cases {
            guard
                case .failure(let status) = await router.handle(method: method, payload: payload, caller: Self.backend)
            else {
                Issue.record("\(method) \(reason): taken")
                continue
            }
            #expect(status.code == code && status.reason == reason, "\(method)")
        }
        let health: Simverify_V1_HealthResponse = try Router.decode(
            try await router.handle(method: .health, payload: ByteBuffer(), caller: Self.backend).get()
        )
        #expect(health.status == .serving && health.faceWorkers == 1 && health.version == VerificationService.version)
    }

    @Test func everyServiceCodeHasItsWireCode() {
        let codes: [(ServiceError.Code, RPCStatusCode)] = [
            (.invalidArgument, .invalidArgument), (.failedPrecondition, .failedPrecondition),
            (.permissionDenied, .permissionDenied), (.resourceExhausted, .resourceExhausted),
            (.unavailable, .unavailable), (.cancelled, .cancelled), (.outOfRange, .outOfRange),
            (.unimplemented, .unimplemented), (.internal, .internal),
        ]
        for (code, wire) in codes {
            let status = RPCStatus(ServiceError(code, "m", reason: .internal))
            #expect(status.code == wire && status.reason == "internal" && status.message == "m")
        }
    }
}
