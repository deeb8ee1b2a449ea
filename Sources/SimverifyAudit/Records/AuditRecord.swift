import SimverifyCore

/// One entry of the audit log: who did what, what was decided, and digests instead of data.
///
/// Holds no raw identifier (only keyed hashes, per field, with key ids), no embedding and no
/// pixel (only SHA-256 digests of the images) — DESIGN.md invariant 4. Encoded canonically by
/// `AuditRecord+Encoding.swift` (docs/AUDIT.md); the encoding, not protobuf, is what is hashed.
public struct AuditRecord: Sendable, Hashable {
    /// What happened.
    public enum Event: UInt8, Sendable, Hashable, CaseIterable {
        case verify = 1
        case extractTemplate = 2
        case sessionStart = 3
        case tokenFailure = 4
        case regulatorLookup = 5
        case keyRotation = 6
        case limitExceeded = 7
        /// A decision recorded but never delivered: its call was cancelled, timed out or lost with
        /// its connection after the record was appended. Detail `leaf:N:REASON` names the record.
        case undelivered = 8
    }

    /// Which image a digest is of.
    public enum ImageKind: UInt8, Sendable, Hashable {
        case idCard = 1
        case selfieFrame = 2
        case sealedTemplate = 3
    }

    /// Which identifier a keyed hash is of.
    public enum IdentifierField: UInt8, Sendable, Hashable, Comparable, CaseIterable {
        case nationalID = 1
        case msisdn = 2
        case iccid = 3
        case operatorID = 4

        public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    }

    /// SHA-256 of one image's bytes.
    public struct ImageDigest: Sendable, Hashable {
        public var kind: ImageKind
        public var sha256: [UInt8]
        public init(kind: ImageKind, sha256: [UInt8]) {
            self.kind = kind
            self.sha256 = sha256
        }
    }

    /// HMAC-SHA-256 of one identifier under the field's key `keyID`.
    public struct KeyedIdentifier: Sendable, Hashable {
        public var field: IdentifierField
        public var keyID: String
        public var hmac: [UInt8]
        public init(field: IdentifierField, keyID: String, hmac: [UInt8]) {
            self.field = field
            self.keyID = keyID
            self.hmac = hmac
        }
    }

    /// Seconds since 1970 (UTC).
    public var time: UInt64
    /// 16 random bytes drawn for this event, so that two events alike in every field (the same
    /// images, caller and decision within a second) are two different records. Empty only in a
    /// record read from format version 1, which had none.
    public var eventID: [UInt8]
    /// What happened.
    public var event: Event
    /// The caller's tenant.
    public var tenant: String
    /// The caller's terminal ("" when none).
    public var terminal: String
    /// The caller's role.
    public var role: CallerRole
    /// The decision, for verifications.
    public var decision: Decision?
    /// The reasons, in the decision's order.
    public var reasons: [ReasonCode]
    /// The distance, quantised to thousandths (nil when none was computed).
    public var distanceMilli: UInt16?
    /// Version of the decision rules.
    public var policyVersion: String
    /// Version of the face models.
    public var modelVersion: String
    /// Digests of the images, in request order.
    public var images: [ImageDigest]
    /// Keyed hashes of identifiers, one per field, sorted by field.
    public var identifiers: [KeyedIdentifier]
    /// A short machine-readable detail (e.g. a token failure's reason); never personal data.
    public var detail: String

    /// Creates a record; identifiers are sorted by field.
    public init(
        time: UInt64,
        event: Event,
        tenant: String,
        terminal: String,
        role: CallerRole,
        decision: Decision? = nil,
        reasons: [ReasonCode] = [],
        distance: Double? = nil,
        policyVersion: String = "",
        modelVersion: String = "",
        images: [ImageDigest] = [],
        identifiers: [KeyedIdentifier] = [],
        detail: String = "",
        eventID: [UInt8]? = nil
    ) {
        self.time = time
        self.eventID = eventID ?? Self.newEventID()
        self.event = event
        self.tenant = tenant
        self.terminal = terminal
        self.role = role
        self.decision = decision
        self.reasons = reasons
        self.distanceMilli = distance.map { UInt16(clamping: Int(($0 * 1000).rounded())) }.map { min($0, 0xFFFE) }
        self.policyVersion = policyVersion
        self.modelVersion = modelVersion
        self.images = images
        self.identifiers = identifiers.sorted { $0.field < $1.field }
        self.detail = detail
    }

    /// 16 bytes from the system's cryptographic random source.
    public static func newEventID() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
