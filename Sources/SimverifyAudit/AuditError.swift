/// An error from the audit module: malformed notes, keys, checkpoints or records, and failed
/// verification. Messages never hold an identifier or any biometric data.
public struct AuditError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, as a stable machine-readable value.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case malformedNote = "malformed_note"
            case unverifiedNote = "unverified_note"
            case invalidSignature = "invalid_signature"
            case malformedKey = "malformed_key"
            case malformedCheckpoint = "malformed_checkpoint"
            case wrongOrigin = "wrong_origin"
            case malformedRecord = "malformed_record"
            case inconsistent = "inconsistent"
            case storage = "storage"
            case unknownKey = "unknown_key"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A signed note that breaks c2sp.org/signed-note.
        public static let malformedNote = Code(.malformedNote)
        /// No signature from a known key.
        public static let unverifiedNote = Code(.unverifiedNote)
        /// A known key's signature does not verify.
        public static let invalidSignature = Code(.invalidSignature)
        /// A verifier or signer key string that does not parse.
        public static let malformedKey = Code(.malformedKey)
        /// A note body that is not a c2sp.org/tlog-checkpoint.
        public static let malformedCheckpoint = Code(.malformedCheckpoint)
        /// A checkpoint for another log.
        public static let wrongOrigin = Code(.wrongOrigin)
        /// Bytes that are not a canonical audit record.
        public static let malformedRecord = Code(.malformedRecord)
        /// Two views of the log that cannot both be true.
        public static let inconsistent = Code(.inconsistent)
        /// The database failed.
        public static let storage = Code(.storage)
        /// A key id with no key.
        public static let unknownKey = Code(.unknownKey)

        public var description: String { self.base.rawValue }
    }

    /// The error's code.
    public let code: Code
    /// A message safe to show.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(self.code): \(self.message)" }
}
