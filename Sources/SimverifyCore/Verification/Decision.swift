/// The answer to a verification (docs/DECISIONS.md says what the clerk does for each).
public enum Decision: String, Sendable, Hashable, CaseIterable, Codable {
    /// Same person (and live, once liveness is checked): register the SIM.
    case approved = "APPROVED"
    /// Different people.
    case rejected = "REJECTED"
    /// The frames are not from a live person following the challenge.
    case livenessFailed = "LIVENESS_FAILED"
    /// The capture is unusable: capture again.
    case retry = "RETRY"
    /// Too close to the threshold to decide automatically.
    case manualReview = "MANUAL_REVIEW"
    /// Attempts exhausted: use the non-biometric path.
    case fallback = "FALLBACK"
}

/// Why a decision was made.
public enum ReasonCode: String, Sendable, Hashable, CaseIterable, Codable {
    case facesMatch = "FACES_MATCH"
    case facesDiffer = "FACES_DIFFER"
    case noFaceInSelfie = "NO_FACE_IN_SELFIE"
    case noFaceOnIDCard = "NO_FACE_ON_ID_CARD"
    case severalFacesInSelfie = "SEVERAL_FACES_IN_SELFIE"
    case severalFacesOnIDCard = "SEVERAL_FACES_ON_ID_CARD"
    case selfieFaceTooSmall = "SELFIE_FACE_TOO_SMALL"
    case idCardFaceTooSmall = "ID_CARD_FACE_TOO_SMALL"
    case nearThreshold = "NEAR_THRESHOLD"
    case attemptsExhausted = "ATTEMPTS_EXHAUSTED"
}
