/// The rules of a liveness session, in one place and free of storage: how an attempt is decided
/// (`MatchPolicy.decideAttempt`) and how the session's state moves (`SessionState`).
///
/// The server keeps a session's state in its session store (one row per session nonce); every
/// change of that row is one of `SessionState`'s events, applied inside the store's transaction.

extension Decision {
    /// Whether this decision ends its liveness session: a final answer about the person, or the
    /// fallback once the attempts are spent. RETRY and LIVENESS_FAILED leave it open for another
    /// attempt while attempts remain.
    public var closesSession: Bool {
        switch self {
        case .approved, .rejected, .manualReview, .fallback: true
        case .retry, .livenessFailed: false
        }
    }
}

extension MatchPolicy {
    /// Decides one liveness-session attempt, in the order docs/DECISIONS.md gives: capture problems
    /// (of the burst or of the ID card) ask for a new capture; then a failed liveness check refuses
    /// the burst; then the matched frame is compared with the ID card.
    /// - Parameters:
    ///   - captureProblems: The burst's capture problems, from the liveness checks.
    ///   - livenessFailures: The liveness checks' failures.
    ///   - selfie: The sample matched with the ID card (the most frontal frame or a mean of
    ///     several), nil when no frame could be matched.
    ///   - idCard: The ID card's sample (a sealed template counts as one usable face).
    public func decideAttempt(
        captureProblems: [ReasonCode],
        livenessFailures: [ReasonCode],
        selfie: FaceSample?,
        idCard: FaceSample
    ) -> VerificationOutcome {
        let problems = captureProblems + self.captureProblems(idCard: idCard)
        if !problems.isEmpty { return VerificationOutcome(decision: .retry, reasons: problems, distance: nil) }
        if !livenessFailures.isEmpty {
            return VerificationOutcome(decision: .livenessFailed, reasons: livenessFailures, distance: nil)
        }
        guard let selfie else {
            return VerificationOutcome(decision: .retry, reasons: [.noFaceInSelfie], distance: nil)
        }
        return self.decide(selfie: selfie, idCard: idCard)
    }
}

/// One liveness session's state as its store keeps it: open with some attempts counted, or closed.
///
/// An attempt is counted when it is admitted (so that attempts running at once on several
/// connections or replicas cannot exceed the allowance) and is *in progress* until its decision is
/// recorded: then it is `recorded`, which closes the session when the decision does; or it is
/// `givenBack` (no decision: the engine was busy, an image unreadable, the call abandoned, or the
/// audit log could not record it). Nothing closes a session before its decision is in the log.
public struct SessionState: Sendable, Hashable {
    /// Attempts counted so far (admitted, whether in progress or recorded).
    public private(set) var attempts: Int
    /// A decision that ends the session was recorded: its token is spent.
    public private(set) var closed: Bool

    /// A session's state; a session the store has not seen is `SessionState()`.
    public init(attempts: Int = 0, closed: Bool = false) {
        self.attempts = max(0, attempts)
        self.closed = closed
    }

    /// What an attempt may do.
    public enum Admission: Sendable, Hashable {
        /// Go ahead: this is attempt `number` (from 1), now in progress.
        case attempt(number: Int)
        /// Every allowed attempt was used: this one is answered FALLBACK, which closes the session
        /// once it is recorded.
        case exhausted
        /// A decision already closed the session: the token is spent.
        case closed
    }

    /// An attempt arrives: it is counted, or refused.
    /// - Parameter allowed: Attempts the session allows.
    public mutating func admit(allowed: Int) -> Admission {
        if self.closed { return .closed }
        if self.attempts >= allowed { return .exhausted }
        self.attempts += 1
        return .attempt(number: self.attempts)
    }

    /// An admitted attempt ended without a recorded decision: it is not counted. A closed
    /// session stays closed.
    public mutating func giveBack() {
        guard !self.closed else { return }
        self.attempts = max(0, self.attempts - 1)
    }

    /// An attempt's decision is in the audit log.
    /// - Returns: Whether the session is now closed.
    @discardableResult
    public mutating func recorded(_ decision: Decision) -> Bool {
        if decision.closesSession { self.closed = true }
        return self.closed
    }

    /// Attempts left after attempt `number` decided `decision`: 0 when the decision closes the
    /// session, else those the allowance still has after this one.
    public static func remaining(afterAttempt number: Int, decided decision: Decision, allowed: Int) -> Int {
        decision.closesSession ? 0 : max(0, allowed - number)
    }
}
