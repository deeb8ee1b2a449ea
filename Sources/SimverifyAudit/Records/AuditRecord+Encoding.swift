import SimverifyCore

/// The canonical binary encoding of an audit record, version 2 (docs/AUDIT.md; version 1, without
/// the event id, is still read and written back as it was). Every record has
/// exactly one encoding: fixed field order, fixed-width integers, big-endian, length-prefixed
/// strings, and a decoder that refuses anything else (unknown values, unsorted or repeated
/// identifier fields, trailing bytes).
extension AuditRecord {
    /// The format version written first.
    public static let formatVersion: UInt8 = 2
    /// Bytes of an event id.
    public static let eventIDBytes = 16
    /// Longest string field, in bytes.
    public static let maxStringBytes = 255

    private static let decisionCodes: [Decision: UInt8] = [
        .approved: 1, .rejected: 2, .livenessFailed: 3, .retry: 4, .manualReview: 5, .fallback: 6,
    ]
    private static let reasonCodes: [ReasonCode: UInt8] = [
        .facesMatch: 1, .facesDiffer: 2, .noFaceInSelfie: 3, .noFaceOnIDCard: 4, .severalFacesInSelfie: 5,
        .severalFacesOnIDCard: 6, .selfieFaceTooSmall: 7, .idCardFaceTooSmall: 8, .nearThreshold: 9,
        .attemptsExhausted: 10,
        .challengeNotPerformed: 32, .challengeOutOfOrder: 33, .notFacingCamera: 34, .identityChanged: 35,
        .duplicateFrames: 36, .noParallax: 37, .selfieBlurred: 38, .selfiePoorlyExposed: 39, .implausibleTiming: 40,
        .selfieFaceCut: 41, .selfieFaceCovered: 42, .screenPattern: 43,
    ]
    private static let roleCodes: [CallerRole: UInt8] = [.counter: 1, .backend: 2, .regulator: 3, .operator: 4]

    /// The canonical bytes.
    /// - Throws: `AuditError` `.malformedRecord` when a field cannot be encoded (a string too long
    ///   or with control characters, a digest not 32 bytes, more than 255 items).
    public func encoded() throws -> [UInt8] {
        // A record read from version 1 has no event id and keeps its version-1 bytes (its leaf hash).
        guard self.eventID.isEmpty || self.eventID.count == Self.eventIDBytes else {
            throw AuditError(.malformedRecord, "an event id is not \(Self.eventIDBytes) bytes")
        }
        var out: [UInt8] = [self.eventID.isEmpty ? 1 : Self.formatVersion]
        func u8(_ v: UInt8) { out.append(v) }
        func u16(_ v: UInt16) { out += [UInt8(v >> 8), UInt8(v & 0xFF)] }
        func u64(_ v: UInt64) {
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(v >> UInt64(shift) & 0xFF)) }
        }
        func string(_ s: String) throws {
            let bytes = Array(s.utf8)
            guard bytes.count <= Self.maxStringBytes, bytes.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) else {
                throw AuditError(.malformedRecord, "a record string is too long or has control characters")
            }
            u16(UInt16(bytes.count))
            out += bytes
        }
        func count(_ n: Int) throws {
            guard n <= 255 else { throw AuditError(.malformedRecord, "too many items in a record") }
            u8(UInt8(n))
        }
        u64(self.time)
        out += self.eventID
        u8(self.event.rawValue)
        try string(self.tenant)
        try string(self.terminal)
        u8(Self.roleCodes[self.role]!)
        u8(self.decision.map { Self.decisionCodes[$0]! } ?? 0)
        try count(self.reasons.count)
        for reason in self.reasons { u8(Self.reasonCodes[reason]!) }
        u16(self.distanceMilli ?? 0xFFFF)
        try string(self.policyVersion)
        try string(self.modelVersion)
        try count(self.images.count)
        for image in self.images {
            guard image.sha256.count == 32 else {
                throw AuditError(.malformedRecord, "an image digest is not 32 bytes")
            }
            u8(image.kind.rawValue)
            out += image.sha256
        }
        let fields = self.identifiers.map(\.field)
        guard fields == fields.sorted(), Set(fields).count == fields.count else {
            throw AuditError(.malformedRecord, "identifiers must be unique per field and sorted")
        }
        try count(self.identifiers.count)
        for identifier in self.identifiers {
            guard identifier.hmac.count == 32 else {
                throw AuditError(.malformedRecord, "an identifier HMAC is not 32 bytes")
            }
            u8(identifier.field.rawValue)
            try string(identifier.keyID)
            out += identifier.hmac
        }
        try string(self.detail)
        return out
    }

    /// Decodes canonical bytes.
    /// - Throws: `AuditError` `.malformedRecord` for any other bytes.
    public init(encoded bytes: [UInt8]) throws {
        var reader = Reader(bytes: bytes)
        let version = try reader.u8()
        guard version == 1 || version == Self.formatVersion else {
            throw AuditError(.malformedRecord, "unknown record format")
        }
        let time = try reader.u64()
        let eventID = version == 1 ? [] : try reader.bytes(Self.eventIDBytes)
        guard let event = Event(rawValue: try reader.u8()) else { throw reader.bad }
        let tenant = try reader.string()
        let terminal = try reader.string()
        let roleCode = try reader.u8()
        guard let role = Self.roleCodes.first(where: { $0.value == roleCode })?.key else { throw reader.bad }
        let decisionCode = try reader.u8()
        let decision = Self.decisionCodes.first(where: { $0.value == decisionCode })?.key
        guard decisionCode == 0 || decision != nil else { throw reader.bad }
        var reasons: [ReasonCode] = []
        for _ in 0..<(try reader.u8()) {
            let code = try reader.u8()
            guard let reason = Self.reasonCodes.first(where: { $0.value == code })?.key else { throw reader.bad }
            reasons.append(reason)
        }
        let distance = try reader.u16()
        let policy = try reader.string()
        let model = try reader.string()
        var images: [ImageDigest] = []
        for _ in 0..<(try reader.u8()) {
            guard let kind = ImageKind(rawValue: try reader.u8()) else { throw reader.bad }
            images.append(ImageDigest(kind: kind, sha256: try reader.bytes(32)))
        }
        var identifiers: [KeyedIdentifier] = []
        for _ in 0..<(try reader.u8()) {
            guard let field = IdentifierField(rawValue: try reader.u8()) else { throw reader.bad }
            if let last = identifiers.last, last.field >= field { throw reader.bad }
            let keyID = try reader.string()
            identifiers.append(KeyedIdentifier(field: field, keyID: keyID, hmac: try reader.bytes(32)))
        }
        let detail = try reader.string()
        guard reader.atEnd else { throw AuditError(.malformedRecord, "trailing bytes after the record") }
        self.time = time
        self.eventID = eventID
        self.event = event
        self.tenant = tenant
        self.terminal = terminal
        self.role = role
        self.decision = decision
        self.reasons = reasons
        self.distanceMilli = distance == 0xFFFF ? nil : distance
        self.policyVersion = policy
        self.modelVersion = model
        self.images = images
        self.identifiers = identifiers
        self.detail = detail
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0
        let bad = AuditError(.malformedRecord, "not a canonical audit record")

        var atEnd: Bool { self.offset == self.bytes.count }

        mutating func bytes(_ n: Int) throws -> [UInt8] {
            guard n >= 0, self.offset + n <= self.bytes.count else { throw self.bad }
            defer { self.offset += n }
            return Array(self.bytes[self.offset..<(self.offset + n)])
        }
        mutating func u8() throws -> UInt8 { try self.bytes(1)[0] }
        mutating func u16() throws -> UInt16 {
            let b = try self.bytes(2)
            return UInt16(b[0]) << 8 | UInt16(b[1])
        }
        mutating func u64() throws -> UInt64 { try self.bytes(8).reduce(0) { $0 << 8 | UInt64($1) } }
        mutating func string() throws -> String {
            let length = Int(try self.u16())
            guard length <= AuditRecord.maxStringBytes else { throw self.bad }
            let raw = try self.bytes(length)
            guard raw.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }), let text = String(validating: raw, as: UTF8.self) else {
                throw self.bad
            }
            return text
        }
    }
}
