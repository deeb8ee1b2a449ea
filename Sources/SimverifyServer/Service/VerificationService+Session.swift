import Crypto
import Foundation
import SimverifyAudit
import SimverifyCore
import SimverifyFaceEngine
import SimverifyLiveness

extension VerificationService {
    /// Issues a liveness session: a signed token with a random challenge, recorded (event
    /// session-start) before it is answered.
    public func startSession(caller: CallerIdentity) async throws -> SessionGrant {
        let (token, claims) = try self.audit.sessions.issue(
            for: caller,
            policy: self.policy.liveness,
            now: self.records.clock()
        )
        _ = try await self.record(
            self.records.record(
                .sessionStart,
                caller: caller,
                time: claims.issuedAt,
                detail: "session:\(claims.reference)"
            )
        )
        return SessionGrant(
            token: token,
            challenge: claims.challenge,
            expiresAt: claims.expiresAt,
            attemptsAllowed: claims.attemptsAllowed
        )
    }

    /// What the capture gates would say of one preview frame: the same engine pass and the same
    /// gates as a burst's frame (`LivenessChecker.captureProblem`), without the embedding network,
    /// a decision, an audit record or a session attempt. The frame is dropped when it returns.
    public func checkFrame(_ frame: ZeroizingBuffer, caller: CallerIdentity) async throws -> FrameCheck {
        guard frame.count > 0 else {
            throw ServiceError(.invalidArgument, "a frame is required", reason: .selfieMissing)
        }
        return try await self.engineCall(.checkFrame, caller: caller) {
            let analysis: SessionAnalysis
            do {
                analysis = try await self.engine.analyze(session: [frame], reference: nil, embeddingFrames: { _ in [] })
            } catch let error as FaceEngineError {
                throw ServiceError(error, field: "request")
            }
            let observation: FrameObservation
            switch analysis.frames.first {
            case .success(let value): observation = value
            case .failure(let error): throw ServiceError(error, field: "frame")
            case nil: throw ServiceError.internalError
            }
            return FrameCheck(
                problem: self.captureGates.captureProblem(observation),
                faceWidth: observation.face?.width ?? 0,
                minimumFaceWidth: self.policy.minimumSelfieFaceWidth
            )
        }
    }

    /// Records a refused token (event token-failure) and returns the error to answer with.
    func refuseToken(
        _ failure: SessionTokens.Failure,
        caller: CallerIdentity,
        session: String?
    ) async throws -> ServiceError {
        _ = try await self.record(
            self.records.record(
                .tokenFailure,
                caller: caller,
                detail: failure.reason + (session.map { ":session:\($0)" } ?? "")
            )
        )
        self.logger.notice(
            "session token refused",
            metadata: ["reason": "\(failure.reason)", "tenant": "\(caller.tenant)"]
        )
        switch failure {
        case .expired:
            return ServiceError(
                .failedPrecondition,
                "the session has expired: start a new one",
                reason: .session(failure)
            )
        case .used:
            return ServiceError(
                .failedPrecondition,
                "the session already has its decision: start a new one",
                reason: .session(failure)
            )
        case .otherCaller:
            return ServiceError(.permissionDenied, "the session belongs to another caller", reason: .session(failure))
        case .invalid:
            return ServiceError(.invalidArgument, "the session token is not valid", reason: .session(failure))
        }
    }

    /// A Verify in a liveness session: token, attempt, frames and liveness checks, then the match.
    /// The session's rules are `SessionState` and `MatchPolicy.decideAttempt` (SimverifyCore);
    /// this function runs them against the session store, the engine and the audit log.
    func verifySession(_ inputs: VerifyInputs, caller: CallerIdentity) async throws -> VerifyResult {
        let claims: SessionClaims
        do {
            claims = try self.audit.sessions.open(inputs.sessionToken ?? "", caller: caller, now: self.records.clock())
        } catch {
            throw try await self.refuseToken(error, caller: caller, session: nil)
        }
        // The session store's writes are not cancelled with the call (SQLiteSessionStore.write).
        let admission = try await self.sessions.admit(
            nonce: claims.nonce,
            expiresAt: claims.expiresAt,
            allowed: claims.attemptsAllowed,
            now: self.records.now
        )
        let attempt: Int
        switch admission {
        case .closed:
            throw try await self.refuseToken(.used, caller: caller, session: claims.reference)
        case .exhausted:
            let outcome = VerificationOutcome(decision: .fallback, reasons: [.attemptsExhausted], distance: nil)
            return try await self.recordAttempt(
                outcome,
                inputs: inputs,
                caller: caller,
                claims: claims,
                attempt: claims.attemptsAllowed + 1,
                admitted: false
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
            try? await self.sessions.giveBack(nonce: claims.nonce, expiresAt: claims.expiresAt)
            throw error
        }
        // A call abandoned before its record (cancelled, past its deadline, its connection gone)
        // decides nothing: the attempt is given back.
        if Task.isCancelled {
            try? await self.sessions.giveBack(nonce: claims.nonce, expiresAt: claims.expiresAt)
            throw ServiceError(.cancelled, "the call was abandoned before its decision", reason: .cancelled)
        }
        return try await self.recordAttempt(
            outcome,
            inputs: inputs,
            caller: caller,
            claims: claims,
            attempt: attempt,
            admitted: true
        )
    }

    /// Appends an attempt's decision to the audit log, then moves the session on: the record
    /// first, so that no attempt is spent and no session closed without its decision in the log
    /// (a failed append gives an admitted attempt back and leaves the session open). Runs in a
    /// task of its own, which the call's cancellation does not reach: once begun, the record and
    /// the session's state are written whatever happens to the call, and a decision its caller no
    /// longer waits for is marked undelivered by the connection.
    func recordAttempt(
        _ outcome: VerificationOutcome,
        inputs: VerifyInputs,
        caller: CallerIdentity,
        claims: SessionClaims,
        attempt: Int,
        admitted: Bool
    ) async throws -> VerifyResult {
        let remaining = SessionState.remaining(
            afterAttempt: attempt,
            decided: outcome.decision,
            allowed: claims.attemptsAllowed
        )
        let session = SessionAttempt(claims: claims, attempt: attempt, remaining: remaining)
        return try await Task { [self] in
            let result: VerifyResult
            do {
                result = try await self.answer(outcome, inputs: inputs, caller: caller, session: session)
            } catch {
                if admitted { try? await self.sessions.giveBack(nonce: claims.nonce, expiresAt: claims.expiresAt) }
                throw error
            }
            do {
                try await self.sessions.recorded(outcome.decision, nonce: claims.nonce, expiresAt: claims.expiresAt)
            } catch {
                // The decision is in the log and is answered; the session store missed it, so a
                // closing decision leaves the session open (any further attempt is recorded too).
                self.logger.error(
                    "the session store could not take a recorded decision",
                    metadata: ["session": "\(claims.reference)"]
                )
            }
            return result
        }.value
    }

    /// Runs the engine and the liveness checks, and decides (`MatchPolicy.decideAttempt`).
    func decideSession(
        _ inputs: VerifyInputs,
        claims: SessionClaims,
        caller: CallerIdentity
    ) async throws -> VerificationOutcome {
        let reference: ZeroizingBuffer?
        var idCard: FaceSample?
        switch inputs.reference {
        case .image(let image): reference = image
        case .template(let sealed):
            reference = nil
            idCard = FaceSample(
                faceCount: 1,
                largestFaceWidth: Int.max,
                embedding: try self.openTemplate(sealed, caller: caller)
            )
        }
        let analysis: SessionAnalysis
        do {
            // Only the frames the checks' decision rests on are embedded (the network is most of a frame's cost).
            let checks = self.livenessChecks
            let challenge = claims.challenge
            analysis = try await self.engine.analyze(
                session: inputs.frames,
                reference: reference,
                embeddingFrames: { frames in checks.flatMap { $0.framesToEmbed(frames, challenge: challenge) } }
            )
            self.metrics.stages(analysis.timings)
        } catch let error as FaceEngineError {
            throw ServiceError(error, field: "request")
        }
        var observations: [FrameObservation] = []
        for (index, result) in analysis.frames.enumerated() {
            switch result {
            case .success(let observation): observations.append(observation)
            case .failure(let error): throw ServiceError(error, field: "selfie_frames[\(index)]")
            }
        }
        if let result = analysis.reference { idCard = try Self.sample(result, field: "id_card_image") }
        guard let idCard else { throw ServiceError.internalError }

        let start = ContinuousClock.now
        let reports = self.livenessChecks.map {
            $0.check(frames: observations, challenge: claims.challenge, frameTimes: inputs.frameTimes)
        }
        self.metrics.stage("liveness", ContinuousClock.now - start)
        guard let first = reports.first else { throw ServiceError.internalError }
        let report = reports.dropFirst().reduce(first) { $0.merged(with: $1) }
        // The most frontal frame, or the mean of the policy's number of most frontal frames.
        var selfie: FaceSample?
        if let best = report.bestFrame, let face = observations[best].face {
            let matched = report.frontalFrames.prefix(max(1, self.policy.matchFrames)).compactMap {
                observations[$0].face?.embedding
            }
            let embedding = matched.count > 1 ? FaceEmbedding.mean(matched) ?? face.embedding : face.embedding
            selfie = FaceSample(faceCount: 1, largestFaceWidth: face.width, embedding: embedding)
        }
        return self.policy.decideAttempt(
            captureProblems: report.captureProblems,
            livenessFailures: report.failures,
            selfie: selfie,
            idCard: idCard
        )
    }
}
