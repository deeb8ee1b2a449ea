import Crypto
import Foundation
import SimverifyAudit
import SimverifyAuditLog
import SimverifyCore
import SimverifyFaceEngine

/// What the service needs to record decisions and keep its sessions and templates: the durable
/// log and the identifier keys (the audit library's), the template sealer and the session tokens
/// (under the server's own secrets).
public struct AuditTrail: Sendable {
    /// The durable log.
    public let log: any AuditStore
    /// Identifier HMAC keys.
    public let identifiers: IdentifierKeyring
    /// Seals and opens ID-card templates.
    public let templates: TemplateSealer
    /// Issues and checks liveness-session tokens.
    public let sessions: SessionTokens

    /// Creates a trail.
    public init(log: any AuditStore, identifiers: IdentifierKeyring, templates: TemplateSealer, sessions: SessionTokens)
    {
        self.log = log
        self.identifiers = identifiers
        self.templates = templates
        self.sessions = sessions
    }

    /// A trail from a key file's keys: the audit log's (`AuditKeys`) and the server's own secrets.
    public init(log: any AuditStore, keys: AuditKeys, secrets: ServerSecrets, templateLifetime: TimeInterval = 3600) {
        self.init(
            log: log,
            identifiers: keys.identifiers,
            templates: TemplateSealer(keys: secrets.templateKeys, lifetime: templateLifetime),
            sessions: SessionTokens(keys: secrets.sessionKeys)
        )
    }

    /// SHA-256 of an image's bytes.
    static func digest(_ bytes: ZeroizingBuffer, kind: AuditRecord.ImageKind) -> AuditRecord.ImageDigest {
        AuditRecord.ImageDigest(kind: kind, sha256: bytes.withUnsafeBytes { Array(SHA256.hash(data: $0)) })
    }

    /// Keyed hashes of the subject's identifiers (empty fields are left out).
    func identifiers(of subject: SubjectReferences) throws -> [AuditRecord.KeyedIdentifier] {
        try [
            self.identifiers.hash(subject.nationalID, field: .nationalID),
            self.identifiers.hash(subject.msisdn, field: .msisdn),
            self.identifiers.hash(subject.iccid, field: .iccid),
        ].compactMap { $0 }
    }
}
