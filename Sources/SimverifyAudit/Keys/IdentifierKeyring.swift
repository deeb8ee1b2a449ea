@preconcurrency import Crypto
import Foundation

/// Per-field HMAC-SHA-256 keys for identifiers, with key ids and rotation.
///
/// A plain hash of a national ID number is brute-forceable (the space is small), so identifiers
/// are keyed-hashed, each field under its own key. The last key of a field is active for new
/// records; older keys stay so that a look-up still finds records made before a rotation.
public struct IdentifierKeyring: Sendable {
    /// One key.
    public struct Key: Sendable {
        /// Written into every record hashed with it.
        public let id: String
        /// The secret (never logged).
        public let secret: SymmetricKey

        /// Creates a key from at least 32 secret bytes.
        public init(id: String, secret: [UInt8]) throws {
            guard secret.count >= 32, !id.isEmpty, id.utf8.count <= 64,
                id.allSatisfy({ $0.isASCII && !$0.isWhitespace })
            else {
                throw AuditError(.malformedKey, "an identifier key needs an id and at least 32 secret bytes")
            }
            self.id = id
            self.secret = SymmetricKey(data: secret)
        }
    }

    /// Keys per field, oldest first; the last is active.
    public let keys: [AuditRecord.IdentifierField: [Key]]

    /// Creates a keyring.
    public init(keys: [AuditRecord.IdentifierField: [Key]]) {
        self.keys = keys
    }

    /// The canonical form hashed: national IDs without separators and upper-cased, phone numbers
    /// and serials as digits (a leading + kept).
    public static func normalize(_ value: String, field: AuditRecord.IdentifierField) -> String {
        switch field {
        case .nationalID: value.filter { $0 != "-" && $0 != " " }.uppercased()
        case .msisdn: (value.hasPrefix("+") ? "+" : "") + value.filter(\.isNumber)
        case .iccid, .operatorID: value.filter { !$0.isWhitespace }
        }
    }

    /// The keyed hash under the field's active key; nil for an empty value.
    /// - Throws: `AuditError` `.unknownKey` when the field has no key.
    public func hash(_ value: String, field: AuditRecord.IdentifierField) throws -> AuditRecord.KeyedIdentifier? {
        guard !value.isEmpty else { return nil }
        guard let key = self.keys[field]?.last else { throw AuditError(.unknownKey, "no key for \(field)") }
        return Self.hash(value, field: field, key: key)
    }

    /// The keyed hashes under every key of the field, for look-ups across rotations.
    public func allHashes(_ value: String, field: AuditRecord.IdentifierField) -> [AuditRecord.KeyedIdentifier] {
        (self.keys[field] ?? []).map { Self.hash(value, field: field, key: $0) }
    }

    private static func hash(
        _ value: String,
        field: AuditRecord.IdentifierField,
        key: Key
    ) -> AuditRecord.KeyedIdentifier {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(normalize(value, field: field).utf8), using: key.secret)
        return AuditRecord.KeyedIdentifier(field: field, keyID: key.id, hmac: Array(mac))
    }
}
