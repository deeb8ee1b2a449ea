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
    // Liveness (wire values 32 and up).
    /// A challenge step was never performed.
    case challengeNotPerformed = "CHALLENGE_NOT_PERFORMED"
    /// Every step was performed, but not in the order asked.
    case challengeOutOfOrder = "CHALLENGE_OUT_OF_ORDER"
    /// The first frame does not face the camera.
    case notFacingCamera = "NOT_FACING_CAMERA"
    /// The frames show more than one person.
    case identityChanged = "IDENTITY_CHANGED"
    /// Two frames are (near) copies of each other.
    case duplicateFrames = "DUPLICATE_FRAMES"
    /// The face moved like a flat picture: one planar homography explains it.
    case noParallax = "NO_PARALLAX"
    /// A frame's face is blurred.
    case selfieBlurred = "SELFIE_BLURRED"
    /// A frame's face is too dark or too bright.
    case selfiePoorlyExposed = "SELFIE_POORLY_EXPOSED"
    /// Frame times go backwards, come faster than a camera, or span too long.
    case implausibleTiming = "IMPLAUSIBLE_TIMING"
    /// Too many frames show the face cut by the image's border: step back into the frame.
    case selfieFaceCut = "SELFIE_FACE_CUT"
    /// The face is found but its lower half is covered (a mask): ask the customer to lower it.
    case selfieFaceCovered = "SELFIE_FACE_COVERED"
    /// The face was filmed off a display: its spectrum carries the display's pixel grid (moire).
    case screenPattern = "SCREEN_PATTERN"
}
