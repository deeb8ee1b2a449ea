/// A frame that breaks the protocol. The connection ends with a goaway carrying `code`.
public struct FrameError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong, as a stable machine-readable value.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case badMagic = "bad_magic"
            case unsupportedVersion = "unsupported_version"
            case unknownFrameType = "unknown_frame_type"
            case reservedBitsSet = "reserved_bits_set"
            case unknownMethod = "unknown_method"
            case payloadTooLarge = "payload_too_large"
            case unexpectedFrame = "unexpected_frame"
            case duplicateCorrelationID = "duplicate_correlation_id"
            case frameTimeout = "frame_timeout"
            case badControlFrame = "bad_control_frame"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The first two bytes are not "SV".
        public static let badMagic = Code(.badMagic)
        /// A protocol version this side does not speak.
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// A frame type outside 1-7.
        public static let unknownFrameType = Code(.unknownFrameType)
        /// Flags or the reserved byte are not zero.
        public static let reservedBitsSet = Code(.reservedBitsSet)
        /// A request for a method the server does not have.
        public static let unknownMethod = Code(.unknownMethod)
        /// A payload longer than the method's or frame type's limit; refused before it arrives.
        public static let payloadTooLarge = Code(.payloadTooLarge)
        /// A frame this side never accepts (a response sent to a server, say).
        public static let unexpectedFrame = Code(.unexpectedFrame)
        /// A request reusing the correlation id of a call still in flight.
        public static let duplicateCorrelationID = Code(.duplicateCorrelationID)
        /// A frame begun but not completed within its deadline (stalled or trickling sender).
        public static let frameTimeout = Code(.frameTimeout)
        /// A control frame breaking its own rules: a ping or pong of fewer than 8 bytes, a method
        /// id on a ping, pong or goaway, a deadline on anything but a request.
        public static let badControlFrame = Code(.badControlFrame)

        public var description: String { self.base.rawValue }
    }

    /// The error's code.
    public let code: Code

    /// Creates an error.
    public init(_ code: Code) { self.code = code }

    public var description: String { "frame error: \(self.code)" }
}
