import Crypto
import SimverifyAudit
import SimverifyCore
import Testing

@Suite("Audit records")
struct AuditRecordTests {
    static let keyring = try! IdentifierKeyring(keys: [
        .nationalID: [
            try! .init(id: "nid-1", secret: Array(repeating: 1, count: 32)),
            try! .init(id: "nid-2", secret: Array(repeating: 2, count: 32)),
        ],
        .msisdn: [try! .init(id: "msisdn-1", secret: Array(repeating: 3, count: 32))],
        .iccid: [try! .init(id: "iccid-1", secret: Array(repeating: 4, count: 32))],
    ])

    static func sample() throws -> AuditRecord {
        AuditRecord(
            time: 1_795_000_000,
            event: .verify,
            tenant: "carrier-a",
            terminal: "store-0001",
            role: .counter,
            decision: .approved,
            reasons: [.facesMatch],
            distance: 0.3561,
            policyVersion: "match-2026.11-1",
            modelVersion: "dlib-resnet-v1",
            images: [
                .init(kind: .idCard, sha256: Array(SHA256.hash(data: [1, 2, 3]))),
                .init(kind: .selfieFrame, sha256: Array(SHA256.hash(data: [4]))),
            ],
            identifiers: [
                try keyring.hash("+82 10-1234-5678", field: .msisdn)!,
                try keyring.hash("900101-1234567", field: .nationalID)!,
            ]
        )
    }

    @Test func encodingRoundTripsAndIsCanonical() throws {
        let record = try Self.sample()
        let bytes = try record.encoded()
        let decoded = try AuditRecord(encoded: bytes)
        #expect(decoded == record)
        #expect(try decoded.encoded() == bytes)
        #expect(record.identifiers.map(\.field) == [.nationalID, .msisdn], "sorted by field")
        #expect(record.distanceMilli == 356)
        // Trailing bytes, truncation, and unknown values are refused.
        #expect(throws: AuditError.self) { try AuditRecord(encoded: bytes + [0]) }
        for cut in [0, 1, 9, bytes.count / 2, bytes.count - 1] {
            #expect(throws: AuditError.self) { try AuditRecord(encoded: Array(bytes.prefix(cut))) }
        }
        // Version 2: the event id follows the time (1 + 8 bytes), then the event.
        #expect(bytes[0] == 2 && Array(bytes[9..<25]) == record.eventID)
        var badEvent = bytes
        badEvent[25] = 99
        #expect(throws: AuditError.self) { try AuditRecord(encoded: badEvent) }
        var badVersion = bytes
        badVersion[0] = 3
        #expect(throws: AuditError.self) { try AuditRecord(encoded: badVersion) }
        var shortID = record
        shortID.eventID = [1, 2, 3]
        #expect(throws: AuditError.self) { try shortID.encoded() }
    }

    /// Two events alike in every field (the same images, caller and decision in the same second)
    /// are two records: an independent client found identical leaves before the event id.
    @Test func eventsAlikeInEveryFieldAreDifferentRecords() throws {
        let a = try Self.sample()
        let b = try Self.sample()
        #expect(a.eventID.count == 16 && a.eventID != b.eventID)
        #expect(try a.encoded() != b.encoded())
        var same = b
        same.eventID = a.eventID
        #expect(try same.encoded() == a.encoded(), "the event id is the only difference")
    }

    /// A log written before version 2 still reads: a version-1 record decodes without an event
    /// id and encodes back to its own bytes (its leaf hash is unchanged).
    @Test func versionOneRecordsStillReadAndKeepTheirBytes() throws {
        let record = try Self.sample()
        var v2 = try record.encoded()
        v2.removeSubrange(9..<25)
        v2[0] = 1
        let v1 = try AuditRecord(encoded: v2)
        #expect(v1.eventID.isEmpty && v1.tenant == record.tenant && v1.reasons == record.reasons)
        #expect(try v1.encoded() == v2)
        var badEvent = v2
        badEvent[9] = 99
        #expect(throws: AuditError.self) { try AuditRecord(encoded: badEvent) }
    }

    @Test func noRawIdentifierOrImageByteInTheEncoding() throws {
        let bytes = try Self.sample().encoded()
        let text = String(decoding: bytes, as: UTF8.self)
        for raw in ["900101", "1234567", "1234-5678", "01012345678"] {
            #expect(!text.contains(raw))
        }
        #expect(!bytes.windows(ofCount: 3).contains([1, 2, 3]))
    }

    @Test func identifiersAreKeyedPerFieldAndNormalised() throws {
        let a = try Self.keyring.hash("900101-1234567", field: .nationalID)!
        let b = try Self.keyring.hash("9001011234567", field: .nationalID)!
        #expect(a == b && a.keyID == "nid-2")
        #expect(try Self.keyring.hash("9001011234567", field: .msisdn)!.hmac != a.hmac, "fields use different keys")
        #expect(Self.keyring.allHashes("900101-1234567", field: .nationalID).map(\.keyID) == ["nid-1", "nid-2"])
        #expect(try Self.keyring.hash("", field: .iccid) == nil)
        #expect(throws: AuditError.self) { try IdentifierKeyring(keys: [:]).hash("1", field: .iccid) }
        #expect(throws: AuditError.self) { try IdentifierKeyring.Key(id: "short", secret: [1, 2, 3]) }
    }

    @Test func unencodableFieldsAreRefused() throws {
        var record = try Self.sample()
        record.tenant = "carrier\u{0}a"
        #expect(throws: AuditError.self) { try record.encoded() }
        record = try Self.sample()
        record.images[0].sha256 = [1, 2]
        #expect(throws: AuditError.self) { try record.encoded() }
    }
}

extension Array where Element == UInt8 {
    func windows(ofCount n: Int) -> [[UInt8]] {
        guard count >= n else { return [] }
        return (0...(count - n)).map { Array(self[$0..<($0 + n)]) }
    }
}
