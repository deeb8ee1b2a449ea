import SimverifyCore
import SimverifyProto
import SimverifyWire

// Conversions between protobuf types and domain types, at the wire boundary only.

extension Simverify_V1_Decision {
    init(_ decision: Decision) {
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

extension Simverify_V1_ReasonCode {
    init(_ reason: ReasonCode) {
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
        }
    }
}

extension Simverify_V1_Status {
    init(_ status: RPCStatus) {
        self.init()
        self.code = Simverify_V1_StatusCode(rawValue: Int(status.code.rawValue)) ?? .unknown
        self.message = status.message
        self.reason = status.reason
    }
}
