/// A call that failed, as the client library reports it: the server's refusal (its status code
/// and stable reason, docs/PROTOCOL.md "Status codes") or a failure of the connection. No wire
/// type: programs switch on `code` and `reason`; `message` is for people and never carries an
/// image byte or an identifier.
public struct SimverifyClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure (gRPC's status codes, by name).
    public enum Code: String, Sendable, Hashable, CaseIterable {
        case cancelled, unknown, invalidArgument, deadlineExceeded, notFound, alreadyExists, permissionDenied
        case resourceExhausted, failedPrecondition, aborted, outOfRange, unimplemented, `internal`, unavailable
        case dataLoss, unauthenticated
    }

    /// Why, as a stable machine-readable value; the documented ones are named here.
    public struct Reason: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { self.rawValue }

        /// The codes of an image refusal (docs/PROTOCOL.md).
        public static let imageCodes: Set<String> = [
            "empty_image", "not_jpeg", "truncated_image", "corrupt_image", "unsupported_image", "image_too_large",
            "too_many_scans", "decoder_memory_limit",
        ]

        /// An image the server refused: `FIELD.CODE` (e.g. `selfie_frames[0].not_jpeg`) split in
        /// two; nil for any other reason.
        public var imageRefusal: (field: String, code: String)? {
            guard let dot = self.rawValue.lastIndex(of: ".") else { return nil }
            let code = String(self.rawValue[self.rawValue.index(after: dot)...])
            return Self.imageCodes.contains(code) ? (String(self.rawValue[..<dot]), code) : nil
        }

        // The request's shape and contents.
        public static let malformedPayload: Reason = "malformed_payload"
        public static let idCardMissing: Reason = "id_card_missing"
        public static let selfieMissing: Reason = "selfie_missing"
        public static let tooManyFrames: Reason = "too_many_frames"
        public static let tooFewFrames: Reason = "too_few_frames"
        public static let frameTimesMismatch: Reason = "frame_times_mismatch"
        public static let malformedIdentifier: Reason = "malformed_identifier"
        public static let consentMissing: Reason = "consent_missing"
        // Sessions and templates.
        public static let sessionRequired: Reason = "session_required"
        public static let sessionInvalid: Reason = "session_invalid"
        public static let sessionOtherCaller: Reason = "session_other_caller"
        public static let sessionExpired: Reason = "session_expired"
        public static let sessionUsed: Reason = "session_used"
        public static let templateInvalid: Reason = "template_invalid"
        public static let templateExpired: Reason = "template_expired"
        public static let templateOtherModel: Reason = "template_other_model"
        public static let noFaceOnIDCard: Reason = "no_face_on_id_card"
        public static let severalFacesOnIDCard: Reason = "several_faces_on_id_card"
        public static let idCardFaceTooSmall: Reason = "id_card_face_too_small"
        // The server and its limits.
        public static let auditUnavailable: Reason = "audit_unavailable"
        public static let roleNotAllowed: Reason = "role_not_allowed"
        public static let tooManyCalls: Reason = "too_many_calls"
        public static let overloaded: Reason = "overloaded"
        public static let rateLimited: Reason = "rate_limited"
        public static let shuttingDown: Reason = "shutting_down"
        public static let cancelled: Reason = "cancelled"
        public static let deadlineExceeded: Reason = "deadline_exceeded"
        public static let connectionClosed: Reason = "connection_closed"
        public static let notImplemented: Reason = "not_implemented"
        public static let `internal`: Reason = "internal"
        // Raised by the client itself.
        /// The certificate, key or CA files could not be loaded.
        public static let tlsFiles: Reason = "tls_files"
        /// The server could not be reached, or refused the handshake.
        public static let connect: Reason = "connect"
        /// The connection failed under a call.
        public static let connectionError: Reason = "connection_error"
        /// The server's answer could not be read.
        public static let malformedResponse: Reason = "malformed_response"
        /// No reason was given.
        public static let none: Reason = ""
    }

    /// The kind of failure.
    public var code: Code
    /// The stable reason (`Reason.none` when the code says it all).
    public var reason: Reason
    /// Safe to show.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String, reason: Reason = .none) {
        self.code = code
        self.message = message
        self.reason = reason
    }

    public var description: String {
        "\(self.code)" + (self.reason.rawValue.isEmpty ? "" : " (\(self.reason))") + ": \(self.message)"
    }
}
