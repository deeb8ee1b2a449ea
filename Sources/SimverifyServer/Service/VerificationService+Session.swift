import Crypto
import Foundation
import SimverifyAudit
import SimverifyCore
import SimverifyFaceEngine
import SimverifyLiveness
import SimverifyProto
import SimverifyProtoMapping
import SimverifyWire

extension VerificationService {
    /// Issues a liveness session: a signed token with a random challenge, recorded (event
    /// session-start) before it is answered.
    func startSession(caller: CallerIdentity) async throws -> Simverify_V1_StartSessionResponse {
        let (token, claims) = try self.audit.sessions.issue(for: caller, policy: self.policy.liveness)
        _ = try await self.record(AuditRecord(
            time: claims.issuedAt, event: .sessionStart, tenant: caller.tenant, terminal: caller.terminal ?? "", role: caller.role,
            policyVersion: self.policy.version, detail: "session:\(claims.reference)"
        ))
        var response = Simverify_V1_StartSessionResponse()
        response.sessionToken = token
        response.challenge = claims.challenge.map(Simverify_V1_ChallengeStep.init)
        response.expiresAtUnix = Int64(claims.expiresAt)
        response.attemptsAllowed = UInt32(claims.attemptsAllowed)
        return response
    }

    /// Records a refused token (event token-failure) and returns the status to answer with.
    func refuseToken(_ failure: SessionTokens.Failure, caller: CallerIdentity, session: String?) async throws -> RPCStatus {
        _ = try await self.record(AuditRecord(
            time: UInt64(Date().timeIntervalSince1970), event: .tokenFailure, tenant: caller.tenant, terminal: caller.terminal ?? "",
            role: caller.role, policyVersion: self.policy.version, detail: failure.reason + (session.map { ":session:\($0)" } ?? "")
        ))
        self.logger.notice("session token refused", metadata: ["reason": "\(failure.reason)", "tenant": "\(caller.tenant)"])
        switch failure {
        case .expired: return RPCStatus(.failedPrecondition, "the session has expired: start a new one", reason: failure.reason)
        case .used: return RPCStatus(.failedPrecondition, "the session already has its decision: start a new one", reason: failure.reason)
        case .otherCaller: return RPCStatus(.permissionDenied, "the session belongs to another caller", reason: failure.reason)
        case .invalid: return RPCStatus(.invalidArgument, "the session token is not valid", reason: failure.reason)
        }
    }

    /// A Verify in a liveness session: token, attempt, frames and liveness checks, then the match.
    func verifySession(_ inputs: VerifyInputs, caller: CallerIdentity) async throws -> Simverify_V1_VerifyResponse {
        let claims: SessionClaims
        do {
            claims = try self.audit.sessions.open(inputs.sessionToken ?? "", caller: caller)
        } catch {
            throw try await self.refuseToken(error, caller: caller, session: nil)
        }
        // The session store's writes are not cancelled with the call (SessionStore.write).
        let admission = try await self.sessions.admit(nonce: claims.nonce, expiresAt: claims.expiresAt, allowed: claims.attemptsAllowed)
        let attempt: Int
        switch admission {
        case .closed:
            throw try await self.refuseToken(.used, caller: caller, session: claims.reference)
        case .exhausted:
            let outcome = VerificationOutcome(decision: .fallback, reasons: [.attemptsExhausted], distance: nil)
            return try await self.answer(
                outcome, inputs: inputs, caller: caller, session: SessionAttempt(claims: claims, attempt: claims.attemptsAllowed + 1, remaining: 0)
            )
        case .attempt(let number):
            attempt = number
        }

        let outcome: VerificationOutcome
        do {
            outcome = try await self.decideSession(inputs, claims: claims, caller: caller)
        } catch {
            // Nothing was decided (busy server, unreadable image, the call abandoned): the attempt
            // is given back.
            try? await self.sessions.refund(nonce: claims.nonce)
            throw error
        }
        // A call abandoned before its record (cancelled, past its deadline, its connection gone)
        // decides nothing: the attempt is given back.
        if Task.isCancelled {
            try? await self.sessions.refund(nonce: claims.nonce)
            throw RPCStatus(.cancelled, "the call was abandoned before its decision", reason: "cancelled")
        }
        // From here the session's state and the record are written whatever happens to the call
        // (in a task of its own, which the call's cancellation does not reach); a decision its
        // caller no longer waits for is then marked undelivered by the connection.
        let final: Set<Decision> = [.approved, .rejected, .manualReview]
        let remaining = final.contains(outcome.decision) ? 0 : claims.attemptsAllowed - attempt
        return try await Task { [self] in
            if final.contains(outcome.decision) { try await self.sessions.close(nonce: claims.nonce) }
            return try await self.answer(
                outcome, inputs: inputs, caller: caller, session: SessionAttempt(claims: claims, attempt: attempt, remaining: remaining)
            )
        }.value
    }

    /// Runs the engine and the liveness checks, and decides.
    func decideSession(_ inputs: VerifyInputs, claims: SessionClaims, caller: CallerIdentity) async throws -> VerificationOutcome {
        let reference: ZeroizingBuffer?
        var idCard: FaceSample?
        switch inputs.reference {
        case .image(let image): reference = image
        case .template(let sealed):
            reference = nil
            idCard = FaceSample(faceCount: 1, largestFaceWidth: Int.max, embedding: try self.openTemplate(sealed, caller: caller))
        }
        let analysis: SessionAnalysis
        do {
            analysis = try await self.engine.analyze(session: inputs.frames, reference: reference)
        } catch let error as FaceEngineError {
            throw RPCStatus(error, field: "request")
        }
        var observations: [FrameObservation] = []
        for (index, result) in analysis.frames.enumerated() {
            switch result {
            case .success(let observation): observations.append(observation)
            case .failure(let error): throw RPCStatus(error, field: "selfie_frames[\(index)]")
            }
        }
        if let result = analysis.reference { idCard = try Self.sample(result, field: "id_card_image") }
        guard let idCard else { throw RPCStatus(.internal, "internal error", reason: "internal") }

        let reports = self.livenessChecks.map { $0.check(frames: observations, challenge: claims.challenge, frameTimes: inputs.frameTimes) }
        guard let first = reports.first else { throw RPCStatus(.internal, "internal error", reason: "internal") }
        let report = reports.dropFirst().reduce(first) { $0.merged(with: $1) }
        let idProblems = self.policy.captureProblems(idCard: idCard)
        if !report.captureProblems.isEmpty || !idProblems.isEmpty {
            return VerificationOutcome(decision: .retry, reasons: report.captureProblems + idProblems, distance: nil)
        }
        if !report.failures.isEmpty {
            return VerificationOutcome(decision: .livenessFailed, reasons: report.failures, distance: nil)
        }
        guard let best = report.bestFrame, let face = observations[best].face else {
            return VerificationOutcome(decision: .retry, reasons: [.noFaceInSelfie], distance: nil)
        }
        // The most frontal frame, or the mean of the policy's number of most frontal frames.
        let matched = report.frontalFrames.prefix(max(1, self.policy.matchFrames)).compactMap { observations[$0].face?.embedding }
        let embedding = matched.count > 1 ? FaceEmbedding.mean(matched) ?? face.embedding : face.embedding
        return self.policy.decide(selfie: FaceSample(faceCount: 1, largestFaceWidth: face.width, embedding: embedding), idCard: idCard)
    }
}
