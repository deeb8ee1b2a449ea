/// What the engine saw of one image, reduced to what a decision needs.
public struct FaceSample: Sendable, Hashable {
    /// Faces found.
    public var faceCount: Int
    /// Width in pixels of the largest face, 0 when none.
    public var largestFaceWidth: Int
    /// Embedding of the largest face.
    public var embedding: FaceEmbedding?
    /// Box widths of every face found, when known (empty: only the count is known).
    public var faceWidths: [Int]
    /// The largest face's share of skin colour below the nose (`LivenessPolicy.minimumLowerFaceSkin`;
    /// nil: not measured).
    public var lowerFaceSkin: Double?

    /// Creates a sample.
    public init(
        faceCount: Int,
        largestFaceWidth: Int,
        embedding: FaceEmbedding?,
        faceWidths: [Int] = [],
        lowerFaceSkin: Double? = nil
    ) {
        self.faceCount = faceCount
        self.largestFaceWidth = largestFaceWidth
        self.embedding = embedding
        self.faceWidths = faceWidths
        self.lowerFaceSkin = lowerFaceSkin
    }
}

/// A decision with its reasons and, when a comparison was made, the distance.
public struct VerificationOutcome: Sendable, Hashable {
    /// The decision.
    public var decision: Decision
    /// Why, in a stable order.
    public var reasons: [ReasonCode]
    /// The embedding distance, when both images had one usable face.
    public var distance: Double?

    /// Creates an outcome.
    public init(decision: Decision, reasons: [ReasonCode], distance: Double?) {
        self.decision = decision
        self.reasons = reasons
        self.distance = distance
    }
}

/// The rules that turn face samples into a decision: a versioned value, so that every audit
/// record can say which rules made it.
public struct MatchPolicy: Sendable, Hashable, Codable {
    /// Names this set of rules in responses and audit records.
    public var version: String
    /// The face model the threshold was set for: a server refuses to run a policy with another.
    public var model: FaceModel
    /// Distance at or below which two faces are the same person, in the model's metric (SFace:
    /// cosine distance; dlib: Euclidean, 0.6 at its published operating point).
    public var threshold: Double
    /// Distances within this of the threshold go to manual review (0: none).
    public var reviewBand: Double
    /// Smallest usable selfie face, in pixels of box width.
    public var minimumSelfieFaceWidth: Int
    /// Smallest usable ID-card face, in pixels of box width.
    public var minimumIDCardFaceWidth: Int
    /// On an ID card, a face narrower than this share of the portrait (the largest face) is the
    /// card's ghost portrait, the small printed copy many cards carry, and is not counted as
    /// another face; a second face at least this wide still makes the card SEVERAL_FACES_ON_ID_CARD.
    /// Set on generated cards (docs/DECISIONS.md, "ID cards as they are"): ghosts measure 0.3-0.4
    /// of the portrait. 0 counts every face.
    public var idCardGhostShare: Double
    /// With a liveness burst: how many of its most frontal judged frames are matched with the ID
    /// card, by the mean of their embeddings (1: the most frontal frame alone). Measured on real
    /// bursts in docs/DECISIONS.md ("Multi-frame matching").
    public var matchFrames: Int
    /// Whether backends receive the distance and threshold.
    public var scoresForBackends: Bool
    /// Whether a Verify without a liveness session (one frame) is refused. True in the shipped
    /// policies: a one-frame Verify proves nothing about who is at the counter, so a deployment
    /// must say so in its configuration to allow it.
    public var livenessRequired: Bool
    /// What a liveness session must show, and how many attempts it allows.
    public var liveness: LivenessPolicy

    /// SFace (the default model): the threshold calibrated on every development pair (faces-ea and
    /// faces, 649 genuine and 1812 impostor pairs) for FMR at most 1 % with 95 % confidence (the
    /// Wilson upper bound of 9/1812 is 0.94 %: `simverify calibrate ... --with-confidence`,
    /// docs/DECISIONS.md), a review band of ±0.03, faces of at least 64 px (selfie) and 40 px (ID
    /// card), ghost portraits left out, a liveness session required, the standard liveness checks
    /// (three-step challenges since policy-2026.12-3-sface; the threshold is the -2 calibration),
    /// 3 attempts per session.
    public static let standard = MatchPolicy(
        version: "policy-2026.12-3-sface",
        model: .sface,
        threshold: 0.597,
        reviewBand: 0.03,
        minimumSelfieFaceWidth: 64,
        minimumIDCardFaceWidth: 40,
        idCardGhostShare: 0.6,
        scoresForBackends: true,
        livenessRequired: true,
        liveness: .standard
    )

    /// dlib: threshold 0.6 (its published operating point) with a review band of ±0.03.
    public static let dlib = MatchPolicy(
        version: "policy-2026.11-2",
        model: .dlib,
        threshold: 0.6,
        reviewBand: 0.03,
        minimumSelfieFaceWidth: 64,
        minimumIDCardFaceWidth: 40,
        idCardGhostShare: 0.6,
        scoresForBackends: true,
        livenessRequired: true,
        liveness: .dlib
    )

    /// The shipped policy for a built-in model; nil for an operator's model, whose threshold the
    /// operator calibrates (its descriptor's, or the server configuration's policy).
    public static func standard(for model: FaceModel) -> MatchPolicy? {
        switch model {
        case .sface: .standard
        case .dlib: .dlib
        case .onnx: nil
        }
    }

    /// Creates a policy.
    public init(
        version: String,
        model: FaceModel = .sface,
        threshold: Double,
        reviewBand: Double,
        minimumSelfieFaceWidth: Int,
        minimumIDCardFaceWidth: Int,
        idCardGhostShare: Double = 0,
        matchFrames: Int = 1,
        scoresForBackends: Bool,
        livenessRequired: Bool = false,
        liveness: LivenessPolicy = .standard
    ) {
        self.version = version
        self.model = model
        self.threshold = threshold
        self.reviewBand = reviewBand
        self.minimumSelfieFaceWidth = minimumSelfieFaceWidth
        self.minimumIDCardFaceWidth = minimumIDCardFaceWidth
        self.idCardGhostShare = idCardGhostShare
        self.matchFrames = matchFrames
        self.scoresForBackends = scoresForBackends
        self.livenessRequired = livenessRequired
        self.liveness = liveness
    }

    /// What makes a selfie unusable: no face, several faces, a face too small, a face covered
    /// below the nose (a mask; the liveness policy's `minimumLowerFaceSkin`) (empty: usable).
    public func captureProblems(selfie: FaceSample) -> [ReasonCode] {
        switch selfie.faceCount {
        case 0: [.noFaceInSelfie]
        case 1 where selfie.largestFaceWidth < self.minimumSelfieFaceWidth: [.selfieFaceTooSmall]
        case 1 where (selfie.lowerFaceSkin ?? 1) < self.liveness.minimumLowerFaceSkin: [.selfieFaceCovered]
        case 1: []
        default: [.severalFacesInSelfie]
        }
    }

    /// The faces of an ID card that count: all but ghost portraits (see `idCardGhostShare`).
    public func countedFaces(idCard: FaceSample) -> Int {
        guard !idCard.faceWidths.isEmpty, self.idCardGhostShare > 0 else { return idCard.faceCount }
        let smallest = self.idCardGhostShare * Double(idCard.largestFaceWidth)
        return idCard.faceWidths.filter { Double($0) >= smallest }.count
    }

    /// What makes an ID-card portrait unusable (empty: usable).
    public func captureProblems(idCard: FaceSample) -> [ReasonCode] {
        switch self.countedFaces(idCard: idCard) {
        case 0: [.noFaceOnIDCard]
        case 1 where idCard.largestFaceWidth < self.minimumIDCardFaceWidth: [.idCardFaceTooSmall]
        case 1: []
        default: [.severalFacesOnIDCard]
        }
    }

    /// A threshold as the tools print it: two decimals when that is exact (0.60), else up to four (0.597).
    public static func text(threshold: Double) -> String {
        let two = String(format: "%.2f", threshold)
        if abs(Double(two)! - threshold) < 1e-9 { return two }
        var four = String(format: "%.4f", threshold)
        while four.hasSuffix("0") { four.removeLast() }
        return four
    }

    /// Decides on one selfie and one ID-card portrait.
    ///
    /// Capture problems (no face, several faces, a face too small) on either side give RETRY
    /// with every problem as a reason; otherwise the distance decides.
    public func decide(selfie: FaceSample, idCard: FaceSample) -> VerificationOutcome {
        let problems = self.captureProblems(selfie: selfie) + self.captureProblems(idCard: idCard)
        guard problems.isEmpty, let a = selfie.embedding, let b = idCard.embedding else {
            return VerificationOutcome(
                decision: .retry,
                reasons: problems.isEmpty ? [.noFaceInSelfie] : problems,
                distance: nil
            )
        }
        let distance = a.distance(to: b)
        if self.reviewBand > 0 && abs(distance - self.threshold) <= self.reviewBand {
            return VerificationOutcome(decision: .manualReview, reasons: [.nearThreshold], distance: distance)
        }
        return distance <= self.threshold
            ? VerificationOutcome(decision: .approved, reasons: [.facesMatch], distance: distance)
            : VerificationOutcome(decision: .rejected, reasons: [.facesDiffer], distance: distance)
    }
}
