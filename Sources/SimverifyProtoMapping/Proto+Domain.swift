import SimverifyCore
import SimverifyProto
import SimverifyWire

// The one place where protobuf enums meet domain types; client and server both convert here.

extension Simverify_V1_Decision {
    /// The wire value of a decision.
    public init(_ decision: Decision) {
        switch decision {
        case .approved: self = .approved
        case .rejected: self = .rejected
        case .livenessFailed: self = .livenessFailed
        case .retry: self = .retry
        case .manualReview: self = .manualReview
        case .fallback: self = .fallback
        }
    }
}

extension Decision {
    /// The decision of a wire value; nil for unspecified or unknown values.
    public init?(_ decision: Simverify_V1_Decision) {
        guard let match = Decision.allCases.first(where: { Simverify_V1_Decision($0) == decision }) else { return nil }
        self = match
    }
}

extension Simverify_V1_ReasonCode {
    /// The wire value of a reason.
    public init(_ reason: ReasonCode) {
        switch reason {
        case .facesMatch: self = .facesMatch
        case .facesDiffer: self = .facesDiffer
        case .noFaceInSelfie: self = .noFaceInSelfie
        case .noFaceOnIDCard: self = .noFaceOnIDCard
        case .severalFacesInSelfie: self = .severalFacesInSelfie
        case .severalFacesOnIDCard: self = .severalFacesOnIDCard
        case .selfieFaceTooSmall: self = .selfieFaceTooSmall
        case .idCardFaceTooSmall: self = .idCardFaceTooSmall
        case .nearThreshold: self = .nearThreshold
        case .attemptsExhausted: self = .attemptsExhausted
        case .challengeNotPerformed: self = .challengeNotPerformed
        case .challengeOutOfOrder: self = .challengeOutOfOrder
        case .notFacingCamera: self = .notFacingCamera
        case .identityChanged: self = .identityChanged
        case .duplicateFrames: self = .duplicateFrames
        case .noParallax: self = .noParallax
        case .selfieBlurred: self = .selfieBlurred
        case .selfiePoorlyExposed: self = .selfiePoorlyExposed
        case .implausibleTiming: self = .implausibleTiming
        case .selfieFaceCut: self = .selfieFaceCut
        case .selfieFaceCovered: self = .selfieFaceCovered
        case .screenPattern: self = .screenPattern
        }
    }
}

extension ReasonCode {
    /// The reason of a wire value; nil for unspecified or unknown values.
    public init?(_ reason: Simverify_V1_ReasonCode) {
        guard let match = ReasonCode.allCases.first(where: { Simverify_V1_ReasonCode($0) == reason }) else {
            return nil
        }
        self = match
    }
}

extension Simverify_V1_Status {
    /// The wire form of a status.
    public init(_ status: RPCStatus) {
        self.init()
        self.code = Simverify_V1_StatusCode(rawValue: Int(status.code.rawValue)) ?? .unknown
        self.message = status.message
        self.reason = status.reason
    }
}

extension RPCStatus {
    /// The status of a wire form.
    public init(_ status: Simverify_V1_Status) {
        self.init(
            RPCStatusCode(rawValue: UInt32(status.code.rawValue)) ?? .unknown,
            status.message,
            reason: status.reason
        )
    }
}

extension Simverify_V1_ChallengeStep {
    /// The wire value of a step.
    public init(_ step: ChallengeStep) {
        switch step {
        case .turnLeft: self = .turnLeft
        case .turnRight: self = .turnRight
        case .moveCloser: self = .moveCloser
        case .lookUp: self = .lookUp
        case .lookDown: self = .lookDown
        }
    }
}

extension ChallengeStep {
    /// The step of a wire value; nil for unspecified or unknown values.
    public init?(_ step: Simverify_V1_ChallengeStep) {
        guard let match = ChallengeStep.allCases.first(where: { Simverify_V1_ChallengeStep($0) == step }) else {
            return nil
        }
        self = match
    }
}
