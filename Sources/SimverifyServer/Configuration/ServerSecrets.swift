import Foundation
import SimverifyAudit

/// The server's own secrets, from the same key file as the audit log's keys (`AuditKeys`):
///
/// ```json
/// { ...,
///   "templateKeys": [{"id": "...", "secret": "base64 of 32 bytes"}],
///   "sessionKeys": [{"id": "...", "secret": "base64 of 32 bytes"}] }
/// ```
///
/// They seal ID-card templates and sign liveness-session tokens; nothing a regulator verifies
/// depends on them, and the audit library (linked by `simverify-audit`) never reads them. The last
/// key of each list is active; older ones still open what they sealed or signed.
public struct ServerSecrets: Sendable {
    /// AES-256-GCM keys sealing ID-card templates, oldest first (the last seals).
    public let templateKeys: [IdentifierKeyring.Key]
    /// HMAC-SHA256 keys of liveness-session tokens, oldest first (the last issues).
    public let sessionKeys: [IdentifierKeyring.Key]

    private struct File: Codable {
        var templateKeys: [AuditKeys.FileKey]?
        var sessionKeys: [AuditKeys.FileKey]?
    }

    /// Reads the key file's server secrets.
    /// - Throws: `AuditError` `.malformedKey` naming the file, never printing a secret.
    public init(contentsOf path: String) throws {
        let file = try AuditKeys.readKeyFile(File.self, at: path)
        func secretKeys(_ keys: [AuditKeys.FileKey]?, _ kind: String) throws -> [IdentifierKeyring.Key] {
            let parsed = try (keys ?? []).map { try $0.key(in: path, kind: kind, exactBytes: 32) }
            guard !parsed.isEmpty else { throw AuditError(.malformedKey, "\(path): no \(kind) key") }
            return parsed
        }
        self.templateKeys = try secretKeys(file.templateKeys, "template")
        self.sessionKeys = try secretKeys(file.sessionKeys, "session")
    }

    /// Writes a development key file: the audit log's keys (`AuditKeys.writeDevelopmentKeys`,
    /// with the `.vkey` beside it) and the server's secrets.
    public static func writeDevelopmentKeys(to path: String, origin: String) throws {
        try AuditKeys.writeDevelopmentKeys(to: path, origin: origin)
        _ = try Self.addMissing(to: path)
    }

    /// Adds whichever server secret a key file lacks (a file written by the audit library alone,
    /// or before liveness sessions), keeping everything else: a new log signing key would orphan
    /// the log's checkpoints. Returns the kinds it added.
    public static func addMissing(to path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path),
            var object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            object["logSigningKeys"] != nil
        else { return [] }
        var added: [String] = []
        for (field, purpose) in [("templateKeys", "template"), ("sessionKeys", "session")] where object[field] == nil {
            let key = AuditKeys.newKey(purpose)
            object[field] = [["id": key.id, "secret": key.secret]]
            added.append(purpose)
        }
        guard !added.isEmpty else { return [] }
        let updated = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        let temporary = path + ".tmp"
        guard
            FileManager.default.createFile(atPath: temporary, contents: updated, attributes: [.posixPermissions: 0o600])
        else {
            throw AuditError(.storage, "cannot write \(path)")
        }
        // rename(2): atomic, and keeps the path (Foundation's replaceItemAt loses it on Linux).
        guard rename(temporary, path) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw AuditError(.storage, "cannot replace \(path)")
        }
        return added
    }
}
