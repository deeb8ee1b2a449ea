@preconcurrency import Crypto
import Foundation

/// The server's secrets, read from one JSON file named in the configuration:
///
/// ```json
/// { "logSigningKeys": ["PRIVATE+KEY+origin+keyid+..."],
///   "identifierKeys": { "national_id": [{"id": "...", "secret": "base64"}], "msisdn": [...], ... },
///   "templateKeys": [{"id": "...", "secret": "base64 of 32 bytes"}],
///   "sessionKeys": [{"id": "...", "secret": "base64 of 32 bytes"}] }
/// ```
///
/// The last key of each list is active; older ones stay for look-ups and for verifying old
/// checkpoints after a rotation (rotate by appending a key with a new id).
public struct AuditKeys: Sendable {
    /// Signs checkpoints (the active, last signing key).
    public let signer: NoteSigner
    /// Verifiers of every signing key, oldest first (for regulators).
    public let verifiers: [NoteVerifier]
    /// Identifier HMAC keys.
    public let identifiers: IdentifierKeyring
    /// AES-256-GCM keys sealing ID-card templates, oldest first (the last seals).
    public let templateKeys: [IdentifierKeyring.Key]
    /// HMAC-SHA256 keys of liveness-session tokens, oldest first (the last issues).
    public let sessionKeys: [IdentifierKeyring.Key]

    private struct File: Codable {
        struct Key: Codable { var id: String; var secret: String }
        var logSigningKeys: [String]
        var identifierKeys: [String: [Key]]
        var templateKeys: [Key]
        var sessionKeys: [Key]?
    }

    private static let fieldNames: [String: AuditRecord.IdentifierField] = [
        "national_id": .nationalID, "msisdn": .msisdn, "iccid": .iccid, "operator_id": .operatorID,
    ]

    /// Reads the key file.
    /// - Throws: `AuditError` `.malformedKey` naming the file, never printing a secret.
    public init(contentsOf path: String) throws {
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw AuditError(.malformedKey, "cannot read the audit key file \(path) (run scripts/dev-certs.sh for development keys)")
        }
        let signers = try file.logSigningKeys.map(NoteSigner.init(skey:))
        guard let active = signers.last, signers.allSatisfy({ $0.name == active.name }) else {
            throw AuditError(.malformedKey, "\(path): one or more log signing keys, all with the log's origin as name")
        }
        var keys: [AuditRecord.IdentifierField: [IdentifierKeyring.Key]] = [:]
        for (name, list) in file.identifierKeys {
            guard let field = Self.fieldNames[name] else { throw AuditError(.malformedKey, "\(path): unknown identifier field \(name)") }
            keys[field] = try list.map { key in
                guard let secret = Data(base64Encoded: key.secret) else { throw AuditError(.malformedKey, "\(path): a secret is not base64") }
                return try IdentifierKeyring.Key(id: key.id, secret: Array(secret))
            }
        }
        for field in AuditRecord.IdentifierField.allCases where keys[field]?.isEmpty ?? true {
            throw AuditError(.malformedKey, "\(path): no key for \(field)")
        }
        self.signer = active
        self.verifiers = signers.map(\.verifier)
        self.identifiers = IdentifierKeyring(keys: keys)
        func secretKeys(_ keys: [File.Key], _ kind: String) throws -> [IdentifierKeyring.Key] {
            let parsed = try keys.map { key in
                guard let secret = Data(base64Encoded: key.secret), secret.count == 32 else {
                    throw AuditError(.malformedKey, "\(path): a \(kind) key needs 32 secret bytes")
                }
                return try IdentifierKeyring.Key(id: key.id, secret: Array(secret))
            }
            guard !parsed.isEmpty else { throw AuditError(.malformedKey, "\(path): no \(kind) key") }
            return parsed
        }
        self.templateKeys = try secretKeys(file.templateKeys, "template")
        self.sessionKeys = try secretKeys(file.sessionKeys ?? [], "session")
    }

    /// Writes a new development key file (mode 0600) and the log's vkey beside it (`.vkey`).
    /// - Parameter origin: The log's name, e.g. "simverify.dev/audit-log".
    public static func writeDevelopmentKeys(to path: String, origin: String) throws {
        let signer = try NoteSigner(name: origin, privateKey: .init())
        var identifiers: [String: [File.Key]] = [:]
        for name in fieldNames.keys.sorted() { identifiers[name] = [Self.newKey(name)] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(
            File(logSigningKeys: [signer.skey], identifierKeys: identifiers, templateKeys: [Self.newKey("template")], sessionKeys: [Self.newKey("session")])
        )
        let fm = FileManager.default
        try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try? fm.removeItem(atPath: path)
        guard fm.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw AuditError(.storage, "cannot write \(path)")
        }
        try (signer.verifier.vkey + "\n").write(toFile: Self.vkeyPath(forKeyFile: path), atomically: true, encoding: .utf8)
    }

    /// Adds a session key to a key file that has none (written before liveness sessions), keeping
    /// everything else. Returns whether it did.
    public static func addMissingSessionKey(to path: String) throws -> Bool {
        guard let data = FileManager.default.contents(atPath: path),
            var object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], object["sessionKeys"] == nil,
            object["logSigningKeys"] != nil
        else { return false }
        let key = Self.newKey("session")
        object["sessionKeys"] = [["id": key.id, "secret": key.secret]]
        let updated = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: updated, attributes: [.posixPermissions: 0o600]) else {
            throw AuditError(.storage, "cannot write \(path)")
        }
        _ = try FileManager.default.replaceItemAt(URL(fileURLWithPath: path), withItemAt: URL(fileURLWithPath: temporary))
        return true
    }

    /// A new random 256-bit secret named "PURPOSE-YYYY-MM-DD".
    private static func newKey(_ purpose: String) -> File.Key {
        let stamp = ISO8601DateFormatter.string(from: Date(), timeZone: .gmt, formatOptions: [.withFullDate])
        return File.Key(id: "\(purpose)-\(stamp)", secret: SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() })
    }

    /// Where `writeDevelopmentKeys` puts the vkey: the key file's path with `.vkey` for `.json`.
    public static func vkeyPath(forKeyFile path: String) -> String {
        ((path as NSString).deletingPathExtension) + ".vkey"
    }
}
