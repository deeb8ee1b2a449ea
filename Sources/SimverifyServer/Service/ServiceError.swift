import SimverifyCore
import SimverifyFaceEngine

/// Why the service refused a call: a kind (`code`, opaque), a stable reason (a typed value whose
/// spelling is the one docs/PROTOCOL.md documents) and a message safe to show (never an image
/// byte, an embedding or a raw identifier). The transport turns it into its wire status; nothing
/// in the service knows the wire.
public struct ServiceError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of refusal. Opaque: the transport maps each to its status code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Kind: String, Hashable, Sendable {
            case invalidArgument, failedPrecondition, permissionDenied, resourceExhausted, unavailable
            case cancelled, outOfRange, unimplemented, `internal`
        }
        let kind: Kind
        public var description: String { self.kind.rawValue }

        /// The request itself is wrong (its shape, an image, an identifier).
        public static let invalidArgument = Code(kind: .invalidArgument)
        /// The request is well-formed but cannot be taken now (consent, a session's state).
        public static let failedPrecondition = Code(kind: .failedPrecondition)
        /// The caller may not do this.
        public static let permissionDenied = Code(kind: .permissionDenied)
        /// A limit: the engine's queue, a rate.
        public static let resourceExhausted = Code(kind: .resourceExhausted)
        /// The service cannot serve it now (the audit log, a shutdown).
        public static let unavailable = Code(kind: .unavailable)
        /// The call was abandoned before its decision.
        public static let cancelled = Code(kind: .cancelled)
        /// A position past what exists (the audit log's reads).
        public static let outOfRange = Code(kind: .outOfRange)
        /// Not something this service does.
        public static let unimplemented = Code(kind: .unimplemented)
        /// A fault of the service.
        public static let `internal` = Code(kind: .internal)
    }

    /// Why, as a stable machine-readable value.
    public struct Reason: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { self.rawValue }

        // The request's shape and contents.
        public static let malformedPayload = Reason(rawValue: "malformed_payload")
        public static let idCardMissing = Reason(rawValue: "id_card_missing")
        public static let selfieMissing = Reason(rawValue: "selfie_missing")
        public static let tooManyFrames = Reason(rawValue: "too_many_frames")
        public static let tooFewFrames = Reason(rawValue: "too_few_frames")
        public static let frameTimesMismatch = Reason(rawValue: "frame_times_mismatch")
        public static let malformedIdentifier = Reason(rawValue: "malformed_identifier")
        public static let nationalIDMissing = Reason(rawValue: "national_id_missing")
        public static let consentMissing = Reason(rawValue: "consent_missing")
        // Sessions and templates.
        public static let sessionRequired = Reason(rawValue: "session_required")
        public static let templateInvalid = Reason(rawValue: "template_invalid")
        public static let templateExpired = Reason(rawValue: "template_expired")
        public static let templateOtherModel = Reason(rawValue: "template_other_model")
        // The service and its limits.
        public static let auditUnavailable = Reason(rawValue: "audit_unavailable")
        public static let overloaded = Reason(rawValue: "overloaded")
        public static let rateLimited = Reason(rawValue: "rate_limited")
        public static let shuttingDown = Reason(rawValue: "shutting_down")
        public static let cancelled = Reason(rawValue: "cancelled")
        public static let unknownMethod = Reason(rawValue: "unknown_method")
        public static let `internal` = Reason(rawValue: "internal")

        /// A refused session token (`session_invalid`, `session_other_caller`, `session_expired`,
        /// `session_used`).
        public static func session(_ failure: SessionTokens.Failure) -> Reason { Reason(rawValue: failure.reason) }
        /// An image refused by the decoder: `FIELD.CODE`, e.g. `selfie_frames[0].not_jpeg`.
        public static func image(field: String, _ code: FaceEngineError.Code) -> Reason {
            Reason(rawValue: "\(field).\(code)")
        }
        /// A capture problem that refuses an ID card for a template, e.g. `no_face_on_id_card`.
        public static func captureProblem(_ reason: ReasonCode) -> Reason {
            Reason(rawValue: reason.rawValue.lowercased())
        }
    }

    public var code: Code
    public var reason: Reason
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String, reason: Reason) {
        self.code = code
        self.message = message
        self.reason = reason
    }

    public var description: String { "\(self.code) (\(self.reason)): \(self.message)" }

    /// An internal fault: said as little as possible.
    static let internalError = ServiceError(.internal, "internal error", reason: .internal)

    /// The error for a face-engine error on one image field (`request` for the whole job).
    init(_ error: FaceEngineError, field: String) {
        switch error.code {
        case .overloaded: self.init(.resourceExhausted, "the server is busy; try again", reason: .overloaded)
        case .shutDown: self.init(.unavailable, "the server is shutting down", reason: .shuttingDown)
        case .internalError, .modelMissing, .modelMismatch, .modelUnreadable, .invalidArgument:
            self = .internalError
        default: self.init(.invalidArgument, "\(field): \(error.message)", reason: .image(field: field, error.code))
        }
    }
}
