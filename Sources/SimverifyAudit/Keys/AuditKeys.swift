@preconcurrency import Crypto
import Foundation

/// The audit log's keys, read from the server's key file (one JSON file named in the
/// configuration):
///
/// ```json
/// { "logSigningKeys": ["PRIVATE+KEY+origin+keyid+..."],
///   "identifierKeys": { "national_id": [{"id": "...", "secret": "base64"}], "msisdn": [...], ... },
///   ... }
/// ```
///
/// Only these two: the same file's `templateKeys` and `sessionKeys` are the server's own secrets
/// (`ServerSecrets` in SimverifyServer), which this library, linked by the regulator's tool,
/// neither parses nor holds. The last key of each list is active; older ones stay for look-ups
/// and for verifying old checkpoints after a rotation (rotate by appending a key with a new id).
public struct AuditKeys: Sendable {
    /// Signs checkpoints (the active, last signing key).
    public let signer: NoteSigner
    /// Verifiers of every signing key, oldest first (for regulators).
    public let verifiers: [NoteVerifier]
    /// Identifier HMAC keys.
    public let identifiers: IdentifierKeyring

    /// A named secret as the key file writes it.
    public struct FileKey: Codable, Sendable {
        public var id: String
        /// Base64.
        public var secret: String
        public init(id: String, secret: String) {
            self.id = id
            self.secret = secret
        }

        /// The keyring key it names. `exactBytes`, when given, is the secret's required size.
        /// - Throws: `AuditError` `.malformedKey` naming the file and the kind of key, never the secret.
        public func key(in path: String, kind: String, exactBytes: Int? = nil) throws -> IdentifierKeyring.Key {
            guard let secret = Data(base64Encoded: self.secret) else {
                throw AuditError(.malformedKey, "\(path): a \(kind) key's secret is not base64")
            }
            if let exactBytes, secret.count != exactBytes {
                throw AuditError(.malformedKey, "\(path): a \(kind) key needs \(exactBytes) secret bytes")
            }
            return try IdentifierKeyring.Key(id: self.id, secret: Array(secret))
        }
    }

    /// Reads the part of the key file that `Part` decodes (other fields are left alone).
    /// - Throws: `AuditError` `.malformedKey` naming the file, never printing a secret.
    public static func readKeyFile<Part: Decodable>(_ part: Part.Type, at path: String) throws -> Part {
        do {
            return try JSONDecoder().decode(Part.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw AuditError(
                .malformedKey,
                "cannot read the key file \(path) (run scripts/dev-certs.sh for development keys)"
            )
        }
    }

    /// The part of the key file this library reads; other fields are left alone.
    private struct File: Codable {
        var logSigningKeys: [String]
        var identifierKeys: [String: [FileKey]]
    }

    private static let fieldNames: [String: AuditRecord.IdentifierField] = [
        "national_id": .nationalID, "msisdn": .msisdn, "iccid": .iccid, "operator_id": .operatorID,
    ]

    /// Reads the key file.
    /// - Throws: `AuditError` `.malformedKey` naming the file, never printing a secret.
    public init(contentsOf path: String) throws {
        let file = try Self.readKeyFile(File.self, at: path)
        let signers = try file.logSigningKeys.map(NoteSigner.init(skey:))
        guard let active = signers.last, signers.allSatisfy({ $0.name == active.name }) else {
            throw AuditError(.malformedKey, "\(path): one or more log signing keys, all with the log's origin as name")
        }
        var keys: [AuditRecord.IdentifierField: [IdentifierKeyring.Key]] = [:]
        for (name, list) in file.identifierKeys {
            guard let field = Self.fieldNames[name] else {
                throw AuditError(.malformedKey, "\(path): unknown identifier field \(name)")
            }
            keys[field] = try list.map { try $0.key(in: path, kind: name) }
        }
        for field in AuditRecord.IdentifierField.allCases where keys[field]?.isEmpty ?? true {
            throw AuditError(.malformedKey, "\(path): no key for \(field)")
        }
        self.signer = active
        self.verifiers = signers.map(\.verifier)
        self.identifiers = IdentifierKeyring(keys: keys)
    }

    /// Writes a new development key file (mode 0600) with the log's keys, and the log's vkey
    /// beside it (`.vkey`). The server adds its own secrets (`ServerSecrets.writeDevelopmentKeys`).
    /// - Parameter origin: The log's name, e.g. "simverify.dev/audit-log".
    public static func writeDevelopmentKeys(to path: String, origin: String) throws {
        let signer = try NoteSigner(name: origin, privateKey: .init())
        var identifiers: [String: [FileKey]] = [:]
        for name in fieldNames.keys.sorted() { identifiers[name] = [Self.newKey(name)] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(File(logSigningKeys: [signer.skey], identifierKeys: identifiers))
        let fm = FileManager.default
        try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try? fm.removeItem(atPath: path)
        guard fm.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw AuditError(.storage, "cannot write \(path)")
        }
        try (signer.verifier.vkey + "\n").write(
            toFile: Self.vkeyPath(forKeyFile: path),
            atomically: true,
            encoding: .utf8
        )
    }

    /// A new random 256-bit secret named "PURPOSE-YYYY-MM-DD".
    public static func newKey(_ purpose: String) -> FileKey {
        let stamp = ISO8601DateFormatter.string(from: Date(), timeZone: .gmt, formatOptions: [.withFullDate])
        return FileKey(
            id: "\(purpose)-\(stamp)",
            secret: SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
        )
    }

    /// Where `writeDevelopmentKeys` puts the vkey: the key file's path with `.vkey` for `.json`.
    public static func vkeyPath(forKeyFile path: String) -> String {
        ((path as NSString).deletingPathExtension) + ".vkey"
    }
}
