import SimverifyCore
import Testing

/// The session rules alone: no engine, no store, no log.
@Suite struct SessionRulesTests {
    enum Event: Sendable, CustomStringConvertible {
        case admit, giveBack
        case recorded(Decision)
        var description: String {
            switch self {
            case .admit: "admit"
            case .giveBack: "giveBack"
            case .recorded(let decision): "recorded(\(decision.rawValue))"
            }
        }
    }

    /// A run of events on a fresh session allowing 3 attempts, with the admissions it answers and
    /// the state it ends in.
    struct Case: Sendable, CustomTestStringConvertible {
        var events: [Event]
        var admissions: [SessionState.Admission]
        var end: SessionState
        var testDescription: String { self.events.map(\.description).joined(separator: " → ") }
    }

    static let cases: [Case] = [
        Case(events: [.admit], admissions: [.attempt(number: 1)], end: SessionState(attempts: 1)),
        // An attempt with no recorded decision is not counted; nor is one whose append failed.
        Case(
            events: [.admit, .giveBack, .admit],
            admissions: [.attempt(number: 1), .attempt(number: 1)],
            end: SessionState(attempts: 1)
        ),
        Case(
            events: [.admit, .recorded(.retry), .admit, .recorded(.livenessFailed), .admit],
            admissions: [.attempt(number: 1), .attempt(number: 2), .attempt(number: 3)],
            end: SessionState(attempts: 3)
        ),
        // Spent: every further attempt is FALLBACK until one is recorded, which closes the session.
        Case(
            events: [.admit, .admit, .admit, .admit, .admit],
            admissions: [.attempt(number: 1), .attempt(number: 2), .attempt(number: 3), .exhausted, .exhausted],
            end: SessionState(attempts: 3)
        ),
        Case(
            events: [.admit, .admit, .admit, .admit, .recorded(.fallback), .admit],
            admissions: [.attempt(number: 1), .attempt(number: 2), .attempt(number: 3), .exhausted, .closed],
            end: SessionState(attempts: 3, closed: true)
        ),
        // A final decision closes the session; nothing reopens it.
        Case(
            events: [.admit, .recorded(.approved), .admit],
            admissions: [.attempt(number: 1), .closed],
            end: SessionState(attempts: 1, closed: true)
        ),
        Case(
            events: [.admit, .recorded(.rejected), .giveBack, .admit],
            admissions: [.attempt(number: 1), .closed],
            end: SessionState(attempts: 1, closed: true)
        ),
        Case(
            events: [.admit, .recorded(.manualReview)],
            admissions: [.attempt(number: 1)],
            end: SessionState(attempts: 1, closed: true)
        ),
        // Giving back never goes below zero.
        Case(
            events: [.giveBack, .giveBack, .admit],
            admissions: [.attempt(number: 1)],
            end: SessionState(attempts: 1)
        ),
    ]

    @Test(arguments: Self.cases)
    func eventsMoveTheSession(_ run: Case) {
        var state = SessionState()
        var admissions: [SessionState.Admission] = []
        for event in run.events {
            switch event {
            case .admit: admissions.append(state.admit(allowed: 3))
            case .giveBack: state.giveBack()
            case .recorded(let decision): state.recorded(decision)
            }
        }
        #expect(admissions == run.admissions)
        #expect(state == run.end)
    }

    @Test func whichDecisionsCloseTheSessionAndWhatRemains() {
        let closing = Decision.allCases.filter(\.closesSession)
        #expect(Set(closing) == [.approved, .rejected, .manualReview, .fallback])
        #expect(SessionState.remaining(afterAttempt: 1, decided: .retry, allowed: 3) == 2)
        #expect(SessionState.remaining(afterAttempt: 3, decided: .livenessFailed, allowed: 3) == 0)
        #expect(SessionState.remaining(afterAttempt: 1, decided: .approved, allowed: 3) == 0)
        #expect(SessionState.remaining(afterAttempt: 4, decided: .fallback, allowed: 3) == 0)
    }

    /// One attempt's inputs and the decision they get.
    struct Attempt: Sendable, CustomTestStringConvertible {
        var capture: [ReasonCode] = [], liveness: [ReasonCode] = [], matched = true, idCardFaces = 1
        var decision: Decision, reasons: [ReasonCode]
        var testDescription: String {
            "\(self.capture) \(self.liveness) matched \(self.matched) card faces \(self.idCardFaces)"
        }
    }

    /// Capture problems come first (the burst's and the ID card's), then liveness, then the match.
    @Test(arguments: [
        Attempt(capture: [.selfieBlurred], liveness: [.noParallax], decision: .retry, reasons: [.selfieBlurred]),
        Attempt(liveness: [.noParallax], idCardFaces: 2, decision: .retry, reasons: [.severalFacesOnIDCard]),
        Attempt(
            capture: [.selfieFaceCut],
            idCardFaces: 0,
            decision: .retry,
            reasons: [.selfieFaceCut, .noFaceOnIDCard]
        ),
        Attempt(
            liveness: [.screenPattern, .noParallax],
            decision: .livenessFailed,
            reasons: [.screenPattern, .noParallax]
        ),
        Attempt(matched: false, decision: .retry, reasons: [.noFaceInSelfie]),
        Attempt(decision: .approved, reasons: [.facesMatch]),
    ])
    func anAttemptIsDecidedInOrder(_ attempt: Attempt) throws {
        let (a, b) = try MatchPolicyTests.pair(0.3)
        let selfie = attempt.matched ? FaceSample(faceCount: 1, largestFaceWidth: 200, embedding: a) : nil
        let idCard = FaceSample(
            faceCount: attempt.idCardFaces,
            largestFaceWidth: attempt.idCardFaces > 0 ? 200 : 0,
            embedding: attempt.idCardFaces > 0 ? b : nil,
            faceWidths: Array(repeating: 200, count: attempt.idCardFaces)
        )
        let outcome = MatchPolicy.dlib.decideAttempt(
            captureProblems: attempt.capture,
            livenessFailures: attempt.liveness,
            selfie: selfie,
            idCard: idCard
        )
        #expect(outcome.decision == attempt.decision && outcome.reasons == attempt.reasons, "\(outcome)")
    }
}
