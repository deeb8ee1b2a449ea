import Crypto
import Foundation
import Logging
import NIOCore
import SimverifyAudit
import SimverifyAuditLog
import SimverifyCore
import SimverifyFaceEngine
import SimverifyLiveness
import SimverifyProto
import SimverifyProtoMapping
import SimverifyWire
import SwiftProtobuf

/// The service behind the transport: decodes a request payload, does the work, encodes the
/// answer. Transport-agnostic: the connection handler calls it, and so can tests.
public final class VerificationService: Sendable {
    /// The server version reported by Health.
    public static let version = "0.3.0"
    /// Most selfie frames a Verify may carry.
    public static let maxSelfieFrames = 32

    let engine: any FaceAnalyzer
    let policy: MatchPolicy
    private let limits: CallLimits
    let audit: AuditTrail
    let sessions: SessionStore
    /// The liveness checks every session Verify runs (their reports are merged).
    let livenessChecks: [any LivenessCheck]
    /// Builds every audit record, with the service's clock.
    let records: AuditRecordBuilder
    let logger: Logger

    /// Rate limits on the calls that use the face engine.
    public struct CallLimits: Sendable {
        /// Per tenant.
        public let tenant: TokenBuckets
        /// Per terminal (counters) or per certificate identity (others).
        public let terminal: TokenBuckets

        /// Creates limits.
        public init(tenant: TokenBuckets, terminal: TokenBuckets) {
            self.tenant = tenant
            self.terminal = terminal
        }

        /// No limits.
        public static var none: CallLimits {
            CallLimits(tenant: TokenBuckets(rate: 0, burst: 1), terminal: TokenBuckets(rate: 0, burst: 1))
        }

        /// The limits of a configuration.
        public init(_ limits: ServerConfiguration.ConnectionLimits) {
            self.init(
                tenant: TokenBuckets(rate: limits.tenantCallsPerSecond, burst: limits.tenantBurst),
                terminal: TokenBuckets(rate: limits.terminalCallsPerSecond, burst: limits.terminalBurst)
            )
        }
    }

    /// Creates the service. `limits` has no default: a forgotten argument must not switch rate
    /// limiting off silently (pass `.none` to say so). `clock` times audit records and session
    /// tokens (tests set it).
    public init(
        engine: any FaceAnalyzer,
        policy: MatchPolicy,
        audit: AuditTrail,
        sessions: SessionStore,
        limits: CallLimits,
        logger: Logger,
        extraLivenessChecks: [any LivenessCheck] = [],
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        precondition(policy.model == engine.model, "the policy's model must be the engine's (checked at configuration)")
        self.sessions = sessions
        self.livenessChecks =
            [LivenessChecker(policy: policy.liveness, minimumFaceWidth: policy.minimumSelfieFaceWidth)]
            + extraLivenessChecks
        self.engine = engine
        self.policy = policy
        self.audit = audit
        self.limits = limits
        self.records = AuditRecordBuilder(
            clock: clock,
            policyVersion: policy.version,
            modelVersion: engine.modelVersion
        )
        self.logger = logger
    }

    /// Refuses (and records) a call over its tenant's or terminal's rate.
    private func checkRate(_ method: MethodID, caller: CallerIdentity, payload: ByteBuffer) async throws {
        let scope: String
        if !self.limits.tenant.take(caller.tenant) {
            scope = "tenant"
        } else if !self.limits.terminal.take(caller.uri) {
            scope = "terminal"
        } else {
            return
        }
        Self.scrub(payload)  // refused before decoding: its images must not linger either
        self.logger.notice("rate limited", metadata: ["method": "\(method)", "scope": "\(scope)"])
        try await self.recordLimit("rate:\(scope)", method: method, caller: caller)
        throw RPCStatus(
            .resourceExhausted,
            "too many \(method) calls from this \(scope); slow down",
            reason: "rate_limited"
        )
    }

    /// Records that a verification was refused by a limit (event limit-exceeded).
    public func recordLimit(_ limit: String, method: MethodID, caller: CallerIdentity) async throws {
        _ = try await self.record(self.records.record(.limitExceeded, caller: caller, detail: "\(limit):\(method)"))
    }

    /// Records that a Verify's decision, already in the log, never reached its caller (event
    /// undelivered, detail `leaf:N:REASON`, REASON one of cancelled, deadline_exceeded,
    /// connection_closed), so that regulators can tell decided from delivered.
    public func recordUndelivered(response payload: ByteBuffer, reason: String, caller: CallerIdentity) async {
        let response: Simverify_V1_VerifyResponse
        do { response = try Self.decode(payload) } catch { return }
        do {
            _ = try await self.record(
                self.records.record(
                    .undelivered,
                    caller: caller,
                    decision: Decision(response.decision),
                    detail: "leaf:\(response.receipt.leafIndex):\(reason)"
                )
            )
        } catch {
            self.logger.error(
                "an undelivered decision could not be recorded",
                metadata: ["leaf": "\(response.receipt.leafIndex)"]
            )
        }
    }

    /// Handles one call.
    /// - Returns: The response payload, or the status of the failure.
    public func handle(
        method: MethodID,
        payload: ByteBuffer,
        caller: CallerIdentity
    ) async -> Result<ByteBuffer, RPCStatus> {
        do {
            switch method {
            case .health:
                // Empty today, but parsed: bytes that are no HealthRequest are malformed_payload.
                let _: Simverify_V1_HealthRequest = try Self.decode(payload)
                return .success(try Self.encode(self.health()))
            case .verify:
                try await self.checkRate(method, caller: caller, payload: payload)
                // One copy of the request, passed inout, so its image fields are zeroed in place.
                var request: Simverify_V1_VerifyRequest = try Self.decodeAndScrub(payload)
                return .success(try Self.encode(try await self.verify(&request, caller: caller)))
            case .extractTemplate:
                try await self.checkRate(method, caller: caller, payload: payload)
                var request: Simverify_V1_ExtractTemplateRequest = try Self.decodeAndScrub(payload)
                return .success(try Self.encode(try await self.extractTemplate(&request, caller: caller)))
            case .getCheckpoint, .getEntries, .getInclusionProof, .getConsistencyProof, .stats, .lookupSubject:
                return .success(try await self.regulator(method: method, payload: payload, caller: caller))
            case .startSession:
                try await self.checkRate(method, caller: caller, payload: payload)
                let _: Simverify_V1_StartSessionRequest = try Self.decode(payload)
                return .success(try Self.encode(try await self.startSession(caller: caller)))
            default:
                return .failure(RPCStatus(.unimplemented, "unknown method", reason: "unknown_method"))
            }
        } catch let status as RPCStatus {
            if status.reason == "overloaded", method == .verify || method == .extractTemplate {
                try? await self.recordLimit("overloaded", method: method, caller: caller)
            }
            return .failure(status)
        } catch {
            self.logger.error("call failed", metadata: ["method": "\(method)", "error_type": "\(type(of: error))"])
            return .failure(RPCStatus(.internal, "internal error", reason: "internal"))
        }
    }

    func health() -> Simverify_V1_HealthResponse {
        let load = self.engine.load
        var response = Simverify_V1_HealthResponse()
        response.status = .serving
        response.version = Self.version
        response.faceWorkers = UInt32(self.engine.workerCount)
        response.faceJobsBusy = UInt32(load.busy)
        response.faceJobsWaiting = UInt32(load.waiting)
        return response
    }

    func verify(
        _ request: inout Simverify_V1_VerifyRequest,
        caller: CallerIdentity
    ) async throws -> Simverify_V1_VerifyResponse {
        let inputs = try VerifyInputs(taking: &request, minimumSessionFrames: self.policy.liveness.minimumFrames)
        if inputs.sessionToken != nil { return try await self.verifySession(inputs, caller: caller) }
        guard !self.policy.livenessRequired else {
            throw RPCStatus(
                .failedPrecondition,
                "this server's policy requires a liveness session (StartSession, then \(policy.liveness.minimumFrames)-\(Self.maxSelfieFrames) frames)",
                reason: "session_required"
            )
        }
        let idCard: FaceSample
        let selfie: FaceSample
        switch inputs.reference {
        case .image(let image):
            let results = try await self.analyze([
                .init(jpeg: image, kind: .idCard), .init(jpeg: inputs.selfie, kind: .selfie),
            ])
            idCard = try Self.sample(results[0], field: "id_card_image")
            selfie = try Self.sample(results[1], field: "selfie_frames[0]")
        case .template(let sealed):
            let embedding = try self.openTemplate(sealed, caller: caller)
            // The template was checked for exactly one usable face when it was sealed.
            idCard = FaceSample(faceCount: 1, largestFaceWidth: Int.max, embedding: embedding)
            selfie = try Self.sample(
                try await self.analyze([.init(jpeg: inputs.selfie, kind: .selfie)])[0],
                field: "selfie_frames[0]"
            )
        }
        return try await self.answer(
            self.policy.decide(selfie: selfie, idCard: idCard),
            inputs: inputs,
            caller: caller,
            session: nil
        )
    }

    /// Where a Verify stands in its liveness session.
    struct SessionAttempt {
        var claims: SessionClaims
        /// This attempt's number, from 1.
        var attempt: Int
        /// Attempts the session still allows (0 once closed).
        var remaining: Int
    }

    /// Records the decision (event verify) with the digests of every image, then answers: no
    /// decision leaves without a durable record (invariant 3).
    func answer(
        _ outcome: VerificationOutcome,
        inputs: VerifyInputs,
        caller: CallerIdentity,
        session: SessionAttempt?
    ) async throws -> Simverify_V1_VerifyResponse {
        var digests: [AuditRecord.ImageDigest] = []
        switch inputs.reference {
        case .image(let image): digests.append(AuditTrail.digest(image, kind: .idCard))
        case .template(let sealed):
            digests.append(AuditRecord.ImageDigest(kind: .sealedTemplate, sha256: Array(SHA256.hash(data: sealed))))
        }
        digests += inputs.frames.map { AuditTrail.digest($0, kind: .selfieFrame) }
        // A call abandoned (cancelled, past its deadline, its connection gone) before its decision
        // is recorded is not decided: nothing is appended (a session Verify checks this before
        // it closes the session, and gives the attempt back).
        if session == nil && Task.isCancelled {
            throw RPCStatus(.cancelled, "the call was abandoned before its decision", reason: "cancelled")
        }
        let record = self.records.record(
            .verify,
            caller: caller,
            decision: outcome.decision,
            reasons: outcome.reasons,
            distance: outcome.distance,
            images: digests,
            identifiers: try self.audit.identifiers(of: inputs.subject),
            detail: session.map { "session:\($0.claims.reference):attempt:\($0.attempt)" } ?? ""
        )
        let receipt = try await self.record(record)

        var response = Simverify_V1_VerifyResponse()
        response.receipt.leafIndex = receipt.leafIndex
        response.receipt.leafHash = Data(receipt.leafHash)
        response.decision = Simverify_V1_Decision(outcome.decision)
        response.reasons = outcome.reasons.map(Simverify_V1_ReasonCode.init)
        response.policyVersion = self.policy.version
        response.attemptsRemaining = UInt32(max(0, session?.remaining ?? 0))
        if caller.role == .backend && self.policy.scoresForBackends, let distance = outcome.distance {
            response.scores.distance = Float(distance)
            response.scores.threshold = Float(self.policy.threshold)
        }
        var metadata: Logger.Metadata = [
            "tenant": "\(caller.tenant)", "role": "\(caller.role.rawValue)", "terminal": "\(caller.terminal ?? "-")",
            "decision": "\(outcome.decision.rawValue)", "reasons": "\(outcome.reasons.map(\.rawValue))",
        ]
        if let session {
            metadata["session"] = "\(session.claims.reference)"
            metadata["attempt"] = "\(session.attempt)"
        }
        self.logger.info("verify", metadata: metadata)
        return response
    }

    /// Opens a sealed ID-card template for the caller's tenant.
    func openTemplate(_ sealed: [UInt8], caller: CallerIdentity) throws -> FaceEmbedding {
        do {
            return try self.audit.templates.open(
                sealed,
                tenant: caller.tenant,
                space: self.engine.space,
                now: self.records.clock()
            )
        } catch .expired {
            throw RPCStatus(
                .failedPrecondition,
                "the sealed template has expired: extract a new one",
                reason: "template_expired"
            )
        } catch .otherModel {
            throw RPCStatus(
                .failedPrecondition,
                "the sealed template was made by another face model: extract a new one",
                reason: "template_other_model"
            )
        } catch {
            throw RPCStatus(
                .invalidArgument,
                "the sealed template is not valid for this caller",
                reason: "template_invalid"
            )
        }
    }

    /// Appends a record; a decision is only answered once this returns (invariant 3).
    func record(_ record: AuditRecord) async throws -> AuditReceipt {
        do {
            return try await self.audit.log.append(record)
        } catch {
            self.logger.error("audit append failed; no answer sent", metadata: ["error": "\(error)"])
            throw RPCStatus(
                .unavailable,
                "the audit log cannot record this; nothing was decided",
                reason: "audit_unavailable"
            )
        }
    }

    /// Runs images as one engine job (all-or-nothing admission).
    func analyze(_ batch: [FaceEngine.BatchItem]) async throws -> [Result<FaceAnalysis, FaceEngineError>] {
        do {
            return try await self.engine.analyze(batch: batch)
        } catch let error as FaceEngineError {
            throw RPCStatus(error, field: "request")
        }
    }

    /// Seals the embedding of an ID card's single face for the calling backend's tenant.
    func extractTemplate(
        _ request: inout Simverify_V1_ExtractTemplateRequest,
        caller: CallerIdentity
    ) async throws -> Simverify_V1_ExtractTemplateResponse {
        guard !request.idCardImage.isEmpty else {
            throw RPCStatus(.invalidArgument, "id_card_image is required", reason: "id_card_missing")
        }
        let image = request.idCardImage.withUnsafeBytes { ZeroizingBuffer(copying: $0) }
        request.idCardImage.resetBytes(in: 0..<request.idCardImage.count)
        let sample = try Self.sample(
            try await self.analyze([.init(jpeg: image, kind: .idCard)])[0],
            field: "id_card_image"
        )
        let problems = self.policy.captureProblems(idCard: sample)
        var record = self.records.record(
            .extractTemplate,
            caller: caller,
            reasons: problems,
            images: [AuditTrail.digest(image, kind: .idCard)]
        )
        guard problems.isEmpty, let embedding = sample.embedding else {
            record.detail = "refused"
            _ = try await self.record(record)
            throw RPCStatus(
                .failedPrecondition,
                "the ID card needs exactly one usable face",
                reason: problems.first.map { $0.rawValue.lowercased() } ?? "no_face_on_id_card"
            )
        }
        let sealed = try self.audit.templates.seal(embedding, tenant: caller.tenant, now: self.records.clock())
        record.detail = "sealed:\(sealed.keyID)"
        _ = try await self.record(record)
        var response = Simverify_V1_ExtractTemplateResponse()
        response.sealedTemplate = Data(sealed.sealed)
        response.expiresAtUnix = Int64(sealed.expiry)
        response.keyID = sealed.keyID
        return response
    }

    static func sample(_ result: Result<FaceAnalysis, FaceEngineError>, field: String) throws -> FaceSample {
        let analysis: FaceAnalysis
        switch result {
        case .success(let value): analysis = value
        case .failure(let error): throw RPCStatus(error, field: field)
        }
        let largest = analysis.largestFace
        return FaceSample(
            faceCount: analysis.faces.count,
            largestFaceWidth: largest?.box.width ?? 0,
            embedding: largest?.embedding,
            faceWidths: analysis.faces.map(\.box.width),
            lowerFaceSkin: largest?.quality.lowerFaceSkin
        )
    }

    /// Decodes and validates a request payload as the server would, without the face engine or
    /// the log: the status it would be refused with, or nil when it is well-formed. For fuzzing.
    public static func validate(method: MethodID, payload: ByteBuffer) -> RPCStatus? {
        do {
            switch method {
            case .verify:
                var request: Simverify_V1_VerifyRequest = try Self.decode(payload)
                _ = try VerifyInputs(taking: &request)
            case .extractTemplate:
                let _: Simverify_V1_ExtractTemplateRequest = try Self.decode(payload)
            case .health:
                let _: Simverify_V1_HealthRequest = try Self.decode(payload)
            case .getEntries:
                let _: Simverify_V1_GetEntriesRequest = try Self.decode(payload)
            case .lookupSubject:
                let request: Simverify_V1_LookupSubjectRequest = try Self.decode(payload)
                try SubjectValidation.validate(
                    Simverify_V1_SubjectReferences.with { $0.nationalID = request.nationalID }
                )
            default:
                return nil
            }
            return nil
        } catch let status as RPCStatus {
            return status
        } catch {
            return RPCStatus(.internal, "unexpected error")
        }
    }

    /// Decodes a request carrying images, then overwrites the frame's bytes in place: protobuf
    /// has copied out what it keeps, and those copies are zeroed by the caller when done.
    static func decodeAndScrub<Message: SwiftProtobuf.Message>(_ payload: ByteBuffer) throws -> Message {
        defer { Self.scrub(payload) }
        return try Self.decode(payload)
    }

    /// Overwrites a frame's payload in place. Deliberately writes through the read-only view:
    /// the storage is shared with the connection's cumulation buffer, whose consumed bytes these
    /// are, and a mutable access would copy them (copy-on-write) instead of clearing them.
    static func scrub(_ payload: ByteBuffer) {
        payload.withUnsafeReadableBytes { bytes in
            if let base = bytes.baseAddress { memset(UnsafeMutableRawPointer(mutating: base), 0, bytes.count) }
        }
    }

    static func decode<Message: SwiftProtobuf.Message>(_ payload: ByteBuffer) throws -> Message {
        do {
            return try payload.withUnsafeReadableBytes { bytes in
                // Borrow the frame's bytes without copying; protobuf copies out what it keeps.
                let view =
                    bytes.baseAddress.map {
                        Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: $0), count: bytes.count, deallocator: .none)
                    } ?? Data()
                return try Message(serializedBytes: view)
            }
        } catch {
            throw RPCStatus(
                .invalidArgument,
                "the request payload is not a valid \(Message.protoMessageName)",
                reason: "malformed_payload"
            )
        }
    }

    static func encode(_ message: some SwiftProtobuf.Message) throws -> ByteBuffer {
        let bytes: [UInt8] = try message.serializedBytes()
        return ByteBuffer(bytes: bytes)
    }
}

/// The images of a Verify request, moved into zeroizing buffers, with the request validated.
struct VerifyInputs: Sendable {
    /// What the selfie is compared with.
    enum Reference: Sendable {
        case image(ZeroizingBuffer)
        case template([UInt8])
    }
    let reference: Reference
    /// The first (for a single-frame Verify, the only) frame.
    var selfie: ZeroizingBuffer { self.frames[0] }
    let frames: [ZeroizingBuffer]
    let subject: SubjectReferences
    /// The liveness session, when the Verify has one.
    let sessionToken: String?
    /// Capture times, one per frame, or empty.
    let frameTimes: [Int]

    /// Validates `request` and moves its images out, zeroing the protobuf copies in place.
    init(
        taking request: inout Simverify_V1_VerifyRequest,
        minimumSessionFrames: Int = LivenessPolicy.standard.minimumFrames
    ) throws {
        defer { Self.zeroImages(in: &request) }
        guard request.consent.given else {
            throw RPCStatus(.failedPrecondition, "the customer's consent is required", reason: "consent_missing")
        }
        try SubjectValidation.validate(request.subject)
        guard request.idCardImage.isEmpty != request.sealedTemplate.isEmpty else {
            throw RPCStatus(
                .invalidArgument,
                "exactly one of id_card_image and sealed_template is required",
                reason: "id_card_missing"
            )
        }
        guard !request.selfieFrames.isEmpty else {
            throw RPCStatus(.invalidArgument, "at least one selfie frame is required", reason: "selfie_missing")
        }
        guard request.selfieFrames.count <= VerificationService.maxSelfieFrames else {
            throw RPCStatus(
                .invalidArgument,
                "at most \(VerificationService.maxSelfieFrames) selfie frames",
                reason: "too_many_frames"
            )
        }
        if request.sessionToken.isEmpty {
            guard request.selfieFrames.count == 1 else {
                throw RPCStatus(
                    .failedPrecondition,
                    "more than one frame needs a liveness session (StartSession)",
                    reason: "session_required"
                )
            }
            self.sessionToken = nil
        } else {
            guard request.selfieFrames.count >= minimumSessionFrames else {
                throw RPCStatus(
                    .invalidArgument,
                    "a liveness Verify needs \(minimumSessionFrames)-\(VerificationService.maxSelfieFrames) frames",
                    reason: "too_few_frames"
                )
            }
            guard request.sessionToken.utf8.count <= SessionTokens.maxTokenBytes else {
                throw RPCStatus(.invalidArgument, "the session token is not valid", reason: "session_invalid")
            }
            self.sessionToken = request.sessionToken
        }
        guard request.frameTimesMs.isEmpty || request.frameTimesMs.count == request.selfieFrames.count else {
            throw RPCStatus(
                .invalidArgument,
                "frame_times_ms needs one time per frame, or none",
                reason: "frame_times_mismatch"
            )
        }
        self.frameTimes = request.frameTimesMs.map { Int($0) }
        self.subject = SubjectReferences(
            nationalID: request.subject.nationalID,
            msisdn: request.subject.msisdn,
            iccid: request.subject.iccid
        )
        self.reference =
            request.sealedTemplate.isEmpty
            ? .image(request.idCardImage.withUnsafeBytes { ZeroizingBuffer(copying: $0) })
            : .template(Array(request.sealedTemplate))
        self.frames = request.selfieFrames.map { frame in frame.withUnsafeBytes { ZeroizingBuffer(copying: $0) } }
    }

    private static func zeroImages(in request: inout Simverify_V1_VerifyRequest) {
        request.idCardImage.resetBytes(in: 0..<request.idCardImage.count)
        for i in request.selfieFrames.indices {
            request.selfieFrames[i].resetBytes(in: 0..<request.selfieFrames[i].count)
        }
    }
}

/// Identifiers must look like identifiers; their values never appear in an error.
enum SubjectValidation {
    static func validate(_ subject: Simverify_V1_SubjectReferences) throws {
        try check(subject.nationalID, "subject.national_id", maxLength: 32) {
            $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-")
        }
        try check(subject.msisdn, "subject.msisdn", maxLength: 20) {
            $0.isASCII && ($0.isNumber || $0 == "+" || $0 == "-" || $0 == " ")
        }
        try check(subject.iccid, "subject.iccid", maxLength: 22) { $0.isASCII && $0.isNumber }
    }

    private static func check(_ value: String, _ field: String, maxLength: Int, _ allowed: (Character) -> Bool) throws {
        guard value.count <= maxLength, value.allSatisfy(allowed) else {
            throw RPCStatus(.invalidArgument, "\(field) is malformed", reason: "malformed_identifier")
        }
    }
}

extension RPCStatus {
    /// The status for a face-engine error on one image field.
    init(_ error: FaceEngineError, field: String) {
        switch error.code {
        case .overloaded: self.init(.resourceExhausted, "the server is busy; try again", reason: "overloaded")
        case .shutDown: self.init(.unavailable, "the server is shutting down", reason: "shutting_down")
        case .internalError, .modelMissing, .modelMismatch, .modelUnreadable, .invalidArgument:
            self.init(.internal, "internal error", reason: "internal")
        default: self.init(.invalidArgument, "\(field): \(error.message)", reason: "\(field).\(error.code)")
        }
    }
}
