import Crypto
import Foundation
import Logging
import SimverifyAudit
import SimverifyAuditLog
import SimverifyCore
import SimverifyFaceEngine
import SimverifyLiveness

/// The service: typed requests in, typed results out, `ServiceError` for every refusal. It knows
/// nothing of the wire (no NIO, no protobuf): the transport's `Router` decodes a frame's payload
/// into these calls and encodes their results, and tests call them in process.
public final class VerificationService: Sendable {
    /// The server version reported by Health.
    public static let version = "0.3.0"
    /// Most selfie frames a Verify may carry.
    public static let maxSelfieFrames = 32

    let engine: any FaceAnalyzer
    let policy: MatchPolicy
    private let limits: CallLimits
    let audit: AuditTrail
    let sessions: any SessionStore
    /// The liveness checks every session Verify runs (their reports are merged).
    let livenessChecks: [any LivenessCheck]
    /// The policy's own checker, the first of `livenessChecks`: its capture gates answer CheckFrame.
    let captureGates: LivenessChecker
    /// Builds every audit record, with the service's clock.
    let records: AuditRecordBuilder
    /// What operators see (no identifier in any label).
    let metrics: ServiceMetrics
    let logger: Logger

    /// Rate limits on the calls that use the face engine.
    public struct CallLimits: Sendable {
        /// Per tenant.
        public let tenant: TokenBuckets
        /// Per terminal (counters) or per certificate identity (others).
        public let terminal: TokenBuckets
        /// CheckFrame, per terminal: a bucket of its own, so that a counter's preview checks never
        /// spend the tokens its Verify needs.
        public let preview: TokenBuckets

        /// Creates limits.
        public init(tenant: TokenBuckets, terminal: TokenBuckets, preview: TokenBuckets) {
            self.tenant = tenant
            self.terminal = terminal
            self.preview = preview
        }

        /// No limits.
        public static var none: CallLimits {
            CallLimits(
                tenant: TokenBuckets(rate: 0, burst: 1),
                terminal: TokenBuckets(rate: 0, burst: 1),
                preview: TokenBuckets(rate: 0, burst: 1)
            )
        }

        /// The limits of a configuration: the tenant's divided among `replicas`, the terminal's whole.
        /// - Throws: `SimverifyError` `.invalidArgument` when `replicas` is below 1.
        public init(_ limits: ServerConfiguration.ConnectionLimits) throws {
            guard limits.replicas >= 1 else {
                throw SimverifyError(.invalidArgument, "limits.replicas must be at least 1")
            }
            let share = 1 / Double(limits.replicas)
            self.init(
                tenant: TokenBuckets(rate: limits.tenantCallsPerSecond * share, burst: limits.tenantBurst * share),
                terminal: TokenBuckets(rate: limits.terminalCallsPerSecond, burst: limits.terminalBurst),
                preview: TokenBuckets(rate: limits.previewCallsPerSecond, burst: limits.previewBurst)
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
        sessions: any SessionStore,
        limits: CallLimits,
        logger: Logger,
        extraLivenessChecks: [any LivenessCheck] = [],
        clock: @escaping @Sendable () -> Date = { Date() },
        metrics: ServiceMetrics = .none
    ) {
        self.metrics = metrics
        precondition(policy.model == engine.model, "the policy's model must be the engine's (checked at configuration)")
        self.sessions = sessions
        self.captureGates = LivenessChecker(
            policy: policy.liveness,
            minimumFaceWidth: policy.minimumSelfieFaceWidth,
            matchFrames: policy.matchFrames
        )
        self.livenessChecks = [self.captureGates] + extraLivenessChecks
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

    /// Refuses (and records) a call over its tenant's or terminal's rate. The transport asks
    /// before it decodes the request, so that a refused request's images are never copied.
    public func checkRate(_ operation: ServiceOperation, caller: CallerIdentity) async throws {
        let scope: String
        if operation == .checkFrame {
            guard !self.limits.preview.take(caller.uri) else { return }
            scope = "preview"
        } else if !self.limits.tenant.take(caller.tenant) {
            scope = "tenant"
        } else if !self.limits.terminal.take(caller.uri) {
            scope = "terminal"
        } else {
            return
        }
        self.logger.notice("rate limited", metadata: ["method": "\(operation)", "scope": "\(scope)"])
        try await self.recordLimit("rate:\(scope)", operation: operation, caller: caller)
        throw ServiceError(
            .resourceExhausted,
            "too many \(operation) calls from this \(scope); slow down",
            reason: .rateLimited
        )
    }

    /// Records that a verification was refused by a limit (event limit-exceeded).
    public func recordLimit(_ limit: String, operation: ServiceOperation, caller: CallerIdentity) async throws {
        self.metrics.limited(limit)
        _ = try await self.record(self.records.record(.limitExceeded, caller: caller, detail: "\(limit):\(operation)"))
    }

    /// Records that a Verify's decision, already in the log, never reached its caller (event
    /// undelivered, detail `leaf:N:REASON`, REASON one of cancelled, deadline_exceeded,
    /// connection_closed), so that regulators can tell decided from delivered.
    public func recordUndelivered(decision: Decision?, leafIndex: UInt64, reason: String, caller: CallerIdentity) async
    {
        do {
            _ = try await self.record(
                self.records.record(
                    .undelivered,
                    caller: caller,
                    decision: decision,
                    detail: "leaf:\(leafIndex):\(reason)"
                )
            )
        } catch {
            self.logger.error("an undelivered decision could not be recorded", metadata: ["leaf": "\(leafIndex)"])
        }
    }

    /// Runs a call that uses the face engine; a full engine queue is recorded as a limit.
    func engineCall<Result>(
        _ operation: ServiceOperation,
        caller: CallerIdentity,
        _ body: () async throws -> Result
    ) async throws -> Result {
        do {
            return try await body()
        } catch let error as ServiceError where error.reason == .overloaded {
            try? await self.recordLimit("overloaded", operation: operation, caller: caller)
            throw error
        }
    }

    /// Samples what operators' gauges show (the engine's load, the audit log's size and
    /// checkpoint); the operator listener calls it before each scrape.
    public func refreshGauges() async {
        let load = self.engine.load
        self.metrics.engineLoad(busy: load.busy, waiting: load.waiting)
        if let state = await self.audit.log.state() { self.metrics.auditLog(state) }
    }

    /// Health: the version and the engine's load.
    public func health() -> HealthReport {
        let load = self.engine.load
        return HealthReport(
            version: Self.version,
            faceWorkers: self.engine.workerCount,
            faceJobsBusy: load.busy,
            faceJobsWaiting: load.waiting
        )
    }

    /// Verifies a selfie (one frame, or a liveness burst with its session's token) against an ID
    /// card's photo or a sealed template; the decision is in the audit log before it returns.
    public func verify(_ request: VerifyRequest, caller: CallerIdentity) async throws -> VerifyResult {
        try await self.engineCall(.verify, caller: caller) {
            try await self.verifyValidated(request, caller: caller)
        }
    }

    private func verifyValidated(_ request: VerifyRequest, caller: CallerIdentity) async throws -> VerifyResult {
        let inputs = try VerifyInputs(request, minimumSessionFrames: self.policy.liveness.minimumFrames)
        if inputs.sessionToken != nil { return try await self.verifySession(inputs, caller: caller) }
        guard !self.policy.livenessRequired else {
            throw ServiceError(
                .failedPrecondition,
                "this server's policy requires a liveness session (StartSession, then \(policy.liveness.minimumFrames)-\(Self.maxSelfieFrames) frames)",
                reason: .sessionRequired
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
    ) async throws -> VerifyResult {
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
            throw ServiceError(.cancelled, "the call was abandoned before its decision", reason: .cancelled)
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

        var result = VerifyResult(
            decision: outcome.decision,
            reasons: outcome.reasons,
            receipt: receipt,
            policyVersion: self.policy.version,
            attemptsRemaining: max(0, session?.remaining ?? 0)
        )
        if caller.role == .backend && self.policy.scoresForBackends, let distance = outcome.distance {
            result.scores = VerifyResult.Scores(distance: distance, threshold: self.policy.threshold)
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
        self.metrics.decided(outcome.decision, reasons: outcome.reasons)
        return result
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
            throw ServiceError(
                .failedPrecondition,
                "the sealed template has expired: extract a new one",
                reason: .templateExpired
            )
        } catch .otherModel {
            throw ServiceError(
                .failedPrecondition,
                "the sealed template was made by another face model: extract a new one",
                reason: .templateOtherModel
            )
        } catch {
            throw ServiceError(
                .invalidArgument,
                "the sealed template is not valid for this caller",
                reason: .templateInvalid
            )
        }
    }

    /// Appends a record; a decision is only answered once this returns (invariant 3).
    func record(_ record: AuditRecord) async throws -> AuditReceipt {
        let start = ContinuousClock.now
        do {
            let receipt = try await self.audit.log.append(record)
            self.metrics.stage("audit_append", ContinuousClock.now - start)
            return receipt
        } catch {
            self.logger.error("audit append failed; no answer sent", metadata: ["error": "\(error)"])
            throw ServiceError(
                .unavailable,
                "the audit log cannot record this; nothing was decided",
                reason: .auditUnavailable
            )
        }
    }

    /// Runs images as one engine job (all-or-nothing admission).
    func analyze(_ batch: [FaceEngine.BatchItem]) async throws -> [Result<FaceAnalysis, FaceEngineError>] {
        do {
            let results = try await self.engine.analyze(batch: batch)
            for case .success(let analysis) in results { self.metrics.stages(analysis.timings) }
            return results
        } catch let error as FaceEngineError {
            throw ServiceError(error, field: "request")
        }
    }

    /// Seals the embedding of an ID card's single face for the calling backend's tenant. A card
    /// without exactly one usable face is refused (and recorded as refused).
    public func extractTemplate(idCard image: ZeroizingBuffer?, caller: CallerIdentity) async throws -> SealedTemplate {
        guard let image, image.count > 0 else {
            throw ServiceError(.invalidArgument, "id_card_image is required", reason: .idCardMissing)
        }
        return try await self.engineCall(.extractTemplate, caller: caller) {
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
                throw ServiceError(
                    .failedPrecondition,
                    "the ID card needs exactly one usable face",
                    reason: .captureProblem(problems.first ?? .noFaceOnIDCard)
                )
            }
            let sealed = try self.audit.templates.seal(embedding, tenant: caller.tenant, now: self.records.clock())
            record.detail = "sealed:\(sealed.keyID)"
            _ = try await self.record(record)
            return SealedTemplate(sealed: sealed.sealed, expiresAt: sealed.expiry, keyID: sealed.keyID)
        }
    }

    static func sample(_ result: Result<FaceAnalysis, FaceEngineError>, field: String) throws -> FaceSample {
        let analysis: FaceAnalysis
        switch result {
        case .success(let value): analysis = value
        case .failure(let error): throw ServiceError(error, field: field)
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

    /// Validates `request`: consent, identifiers, exactly one reference, the frame counts a
    /// one-frame or a session Verify needs, the token's length, one capture time per frame.
    init(_ request: VerifyRequest, minimumSessionFrames: Int = LivenessPolicy.standard.minimumFrames) throws {
        guard request.consentGiven else {
            throw ServiceError(.failedPrecondition, "the customer's consent is required", reason: .consentMissing)
        }
        try SubjectValidation.validate(request.subject)
        let idCard = request.idCardImage.flatMap { $0.count > 0 ? $0 : nil }
        let template = request.sealedTemplate.flatMap { $0.isEmpty ? nil : $0 }
        guard (idCard == nil) != (template == nil) else {
            throw ServiceError(
                .invalidArgument,
                "exactly one of id_card_image and sealed_template is required",
                reason: .idCardMissing
            )
        }
        let frames = request.selfieFrames
        guard !frames.isEmpty else {
            throw ServiceError(.invalidArgument, "at least one selfie frame is required", reason: .selfieMissing)
        }
        guard frames.count <= VerificationService.maxSelfieFrames else {
            throw ServiceError(
                .invalidArgument,
                "at most \(VerificationService.maxSelfieFrames) selfie frames",
                reason: .tooManyFrames
            )
        }
        if request.sessionToken.isEmpty {
            guard frames.count == 1 else {
                throw ServiceError(
                    .failedPrecondition,
                    "more than one frame needs a liveness session (StartSession)",
                    reason: .sessionRequired
                )
            }
            self.sessionToken = nil
        } else {
            guard frames.count >= minimumSessionFrames else {
                throw ServiceError(
                    .invalidArgument,
                    "a liveness Verify needs \(minimumSessionFrames)-\(VerificationService.maxSelfieFrames) frames",
                    reason: .tooFewFrames
                )
            }
            guard request.sessionToken.utf8.count <= SessionTokens.maxTokenBytes else {
                throw ServiceError(.invalidArgument, "the session token is not valid", reason: .session(.invalid))
            }
            self.sessionToken = request.sessionToken
        }
        guard request.frameTimes.isEmpty || request.frameTimes.count == frames.count else {
            throw ServiceError(
                .invalidArgument,
                "frame_times_ms needs one time per frame, or none",
                reason: .frameTimesMismatch
            )
        }
        self.frameTimes = request.frameTimes
        self.subject = request.subject
        if let idCard {
            self.reference = .image(idCard)
        } else {
            self.reference = .template(template ?? [])
        }
        self.frames = frames
    }
}

/// Identifiers must look like identifiers; their values never appear in an error.
enum SubjectValidation {
    static func validate(_ subject: SubjectReferences) throws {
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
            throw ServiceError(.invalidArgument, "\(field) is malformed", reason: .malformedIdentifier)
        }
    }
}
