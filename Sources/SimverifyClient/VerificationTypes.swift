import SimverifyCore

/// A Verify call: an ID-card image (or sealed template), selfie frames, subject and consent.
public struct VerificationRequest: Sendable {
    /// JPEG of the ID card's portrait page.
    public var idCardImage: ZeroizingBuffer?
    /// A sealed template from ExtractTemplate, in place of the image.
    public var sealedTemplate: [UInt8]?
    /// JPEG selfie frames in capture order.
    public var selfieFrames: [ZeroizingBuffer]
    /// Liveness session token from StartSession.
    public var sessionToken: String?
    /// Identifiers of the person; hashed by the server, never stored raw.
    public var subject: SubjectReferences
    /// Whether the customer consented, and to which consent text.
    public var consentGiven: Bool
    /// Version of the consent text.
    public var consentTextVersion: String
    /// Capture time of each frame, milliseconds since the first (or empty).
    public var frameTimesMilliseconds: [UInt32] = []

    /// Creates a request.
    public init(
        idCardImage: ZeroizingBuffer?,
        selfieFrames: [ZeroizingBuffer],
        subject: SubjectReferences = SubjectReferences(),
        consentGiven: Bool,
        consentTextVersion: String = "",
        sealedTemplate: [UInt8]? = nil,
        sessionToken: String? = nil
    ) {
        self.idCardImage = idCardImage
        self.selfieFrames = selfieFrames
        self.subject = subject
        self.consentGiven = consentGiven
        self.consentTextVersion = consentTextVersion
        self.sealedTemplate = sealedTemplate
        self.sessionToken = sessionToken
    }
}

/// A liveness session from StartSession: perform `challenge` in order, then Verify with the token.
public struct LivenessSession: Sendable, Hashable {
    /// Opaque, single use; send it with the frames.
    public var token: String
    /// The steps to perform, in order.
    public var challenge: [ChallengeStep]
    /// Unix seconds after which the token is refused.
    public var expiresAt: Int64
    /// Verify attempts the session allows.
    public var attemptsAllowed: Int
}

/// The answer to CheckFrame: what the capture gates would say of a preview frame.
public struct FrameCheckResult: Sendable, Hashable {
    /// The reason a burst's gate would name for this frame; nil when the frame would pass.
    public var problem: ReasonCode?
    /// The largest face's box width in pixels; 0 without a face.
    public var faceWidth: Int
    /// The server policy's smallest usable face width in pixels.
    public var minimumFaceWidth: Int

    /// Creates a result.
    public init(problem: ReasonCode?, faceWidth: Int, minimumFaceWidth: Int) {
        self.problem = problem
        self.faceWidth = faceWidth
        self.minimumFaceWidth = minimumFaceWidth
    }
}

/// The answer to a Verify call.
public struct VerificationResult: Sendable, Hashable {
    /// The decision.
    public var decision: Decision
    /// Why.
    public var reasons: [ReasonCode]
    /// Distance and threshold, for callers whose policy allows scores.
    public var distance: Double?
    /// The threshold the distance was compared with.
    public var threshold: Double?
    /// Version of the rules that decided.
    public var policyVersion: String
    /// Where the record sits in the audit log, once the server keeps one.
    public var receiptLeafIndex: UInt64?
    /// The record's leaf hash.
    public var receiptLeafHash: [UInt8]?
    /// Attempts left in the session.
    public var attemptsRemaining: Int
}

/// The answer to a Health call.
public struct HealthReport: Sendable, Hashable {
    /// True when the server is serving.
    public var serving: Bool
    /// The server's version.
    public var version: String
    /// Face workers.
    public var faceWorkers: Int
    /// Face jobs running.
    public var faceJobsBusy: Int
    /// Face jobs waiting.
    public var faceJobsWaiting: Int
}
