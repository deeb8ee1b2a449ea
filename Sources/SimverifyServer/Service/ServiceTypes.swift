import SimverifyAuditLog
import SimverifyCore

/// The calls the service answers, as the audit log and the rate limits name them (the names are
/// the protocol's method names, docs/PROTOCOL.md).
public enum ServiceOperation: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case health = "Health"
    case startSession = "StartSession"
    case verify = "Verify"
    case extractTemplate = "ExtractTemplate"
    case checkFrame = "CheckFrame"
    case getCheckpoint = "GetCheckpoint"
    case getEntries = "GetEntries"
    case getInclusionProof = "GetInclusionProof"
    case getConsistencyProof = "GetConsistencyProof"
    case stats = "Stats"
    case lookupSubject = "LookupSubject"

    public var description: String { self.rawValue }
}

/// A Verify as the service takes it: the images already in zeroizing buffers, not yet validated.
public struct VerifyRequest: Sendable {
    /// The ID card's photo, or nil.
    public var idCardImage: ZeroizingBuffer?
    /// A sealed ID-card template, or nil (exactly one of the two).
    public var sealedTemplate: [UInt8]?
    /// The selfie: one frame, or a liveness burst.
    public var selfieFrames: [ZeroizingBuffer]
    /// Who is being registered (stored only as keyed hashes).
    public var subject: SubjectReferences
    /// Whether the customer consented.
    public var consentGiven: Bool
    /// The liveness session's token; empty for a one-frame Verify.
    public var sessionToken: String
    /// Capture times in milliseconds, one per frame, or none.
    public var frameTimes: [Int]

    /// Creates a request.
    public init(
        idCardImage: ZeroizingBuffer? = nil,
        sealedTemplate: [UInt8]? = nil,
        selfieFrames: [ZeroizingBuffer],
        subject: SubjectReferences = SubjectReferences(),
        consentGiven: Bool,
        sessionToken: String = "",
        frameTimes: [Int] = []
    ) {
        self.idCardImage = idCardImage
        self.sealedTemplate = sealedTemplate
        self.selfieFrames = selfieFrames
        self.subject = subject
        self.consentGiven = consentGiven
        self.sessionToken = sessionToken
        self.frameTimes = frameTimes
    }
}

/// A Verify's answer: the decision, already in the audit log.
public struct VerifyResult: Sendable, Hashable {
    public var decision: Decision
    public var reasons: [ReasonCode]
    /// Where the decision's record is in the log.
    public var receipt: AuditReceipt
    public var policyVersion: String
    /// Attempts the session still allows (0 without a session, or once it is closed).
    public var attemptsRemaining: Int
    /// The distance and the threshold, for backends when the policy says so.
    public var scores: Scores?

    public struct Scores: Sendable, Hashable {
        public var distance: Double
        public var threshold: Double
    }
}

/// Health: the service's version and the face engine's load.
public struct HealthReport: Sendable, Hashable {
    public var version: String
    public var faceWorkers: Int
    public var faceJobsBusy: Int
    public var faceJobsWaiting: Int
}

/// A liveness session, as StartSession answers it.
public struct SessionGrant: Sendable, Hashable {
    /// The signed token the Verify carries.
    public var token: String
    /// The head movements the customer performs, in order.
    public var challenge: [ChallengeStep]
    /// Unix seconds.
    public var expiresAt: UInt64
    public var attemptsAllowed: Int
}

/// What the capture gates would say of one preview frame (CheckFrame).
public struct FrameCheck: Sendable, Hashable {
    /// The reason the gate would name for this frame; nil when it would pass.
    public var problem: ReasonCode?
    /// The largest face's box width in pixels; 0 when no face was found.
    public var faceWidth: Int
    /// The policy's smallest usable face width in pixels.
    public var minimumFaceWidth: Int
}

/// An ID card's face, sealed for the calling backend's tenant.
public struct SealedTemplate: Sendable, Hashable {
    public var sealed: [UInt8]
    /// Unix seconds.
    public var expiresAt: UInt64
    public var keyID: String
}

/// A regulator's look-up of a subject.
public struct SubjectLookup: Sendable, Hashable {
    /// The leaves whose records carry the subject's national ID (any key's hash).
    public var matches: [UInt64]
    /// The leaf of the look-up's own record.
    public var lookupLeafIndex: UInt64
}
