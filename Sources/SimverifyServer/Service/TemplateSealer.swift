@preconcurrency import Crypto
import Foundation
import SimverifyAudit
import SimverifyCore

/// Seals an ID-card embedding for a carrier backend: AES-256-GCM under a server key with a key
/// id, bound to the backend's tenant (associated data) and to an expiry. The server keeps nothing;
/// only a server with the key can open it, and only for the same tenant before it expires.
///
/// Format (docs/threat_model.md): "SVT2", u8 face model (1 SFace, 2 dlib, 3 an operator's), u8
/// key-id length, key id, u64 expiry (Unix seconds, big-endian), AES-GCM nonce (12) ‖ ciphertext
/// (4 bytes a component, little-endian Float32: 512 for SFace and dlib) ‖ tag (16). Associated
/// data: "simverify-template-v2", 0, model, [for an operator's model: its descriptor's fingerprint,
/// 0], tenant, 0, key id, 0, expiry. "SVT1" templates (before the model byte) were dlib's and are
/// refused as made by another model.
public struct TemplateSealer: Sendable {
    /// Keys, oldest first; the last seals, all open.
    public let keys: [IdentifierKeyring.Key]
    /// How long a template stays usable.
    public let lifetime: TimeInterval

    private static let magic: [UInt8] = Array("SVT2".utf8)
    private static let magicBeforeModels: [UInt8] = Array("SVT1".utf8)

    /// Creates a sealer.
    public init(keys: [IdentifierKeyring.Key], lifetime: TimeInterval = 3600) {
        self.keys = keys
        self.lifetime = lifetime
    }

    private static func associatedData(space: EmbeddingSpace, tenant: String, keyID: String, expiry: UInt64) -> [UInt8]
    {
        let fingerprint = space.fingerprint.isEmpty ? [] : Array(space.fingerprint.utf8) + [0]
        return Array("simverify-template-v2".utf8) + [0, space.model.wireValue] + fingerprint + Array(tenant.utf8) + [0]
            + Array(keyID.utf8) + [0] + bigEndian(expiry)
    }

    private static func bigEndian(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(v >> UInt64(56 - 8 * $0) & 0xFF) } }

    /// Seals `embedding` for `tenant`.
    /// - Returns: The sealed bytes, their expiry and the key id used.
    public func seal(
        _ embedding: FaceEmbedding,
        tenant: String,
        now: Date = Date()
    ) throws -> (sealed: [UInt8], expiry: UInt64, keyID: String) {
        guard let key = self.keys.last else { throw SealerError.noKey }
        let expiry = UInt64(now.timeIntervalSince1970 + self.lifetime)
        var plaintext = [UInt8]()
        plaintext.reserveCapacity(embedding.values.count * 4)
        for value in embedding.values { withUnsafeBytes(of: value.bitPattern.littleEndian) { plaintext += $0 } }
        defer { plaintext.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) } }
        let aad = Self.associatedData(space: embedding.space, tenant: tenant, keyID: key.id, expiry: expiry)
        let box = try AES.GCM.seal(plaintext, using: key.secret, authenticating: aad)
        let id = Array(key.id.utf8)
        return (
            Self.magic + [embedding.model.wireValue, UInt8(id.count)] + id + Self.bigEndian(expiry)
                + Array(box.combined!), expiry, key.id
        )
    }

    /// Why a template could not be opened.
    public enum OpenFailure: Error, Sendable, Hashable {
        /// Malformed, tampered, for another tenant, or under an unknown key: indistinguishable on purpose.
        case invalid
        /// Past its expiry.
        case expired
        /// Sealed from another face model's embedding: its distances mean nothing to this one.
        case otherModel
    }

    /// Opens a template for `tenant`, made by a model of `space`.
    /// - Throws: `.otherModel` when it was sealed from another model family's embedding (checked
    ///   only after authentication), `.expired`, or `.invalid` (also for another operator's model:
    ///   its fingerprint in the associated data does not authenticate).
    public func open(
        _ sealed: [UInt8],
        tenant: String,
        space: EmbeddingSpace,
        now: Date = Date()
    ) throws(OpenFailure) -> FaceEmbedding {
        if space.model != .dlib, sealed.count > 5, Array(sealed.prefix(4)) == Self.magicBeforeModels {
            throw .otherModel
        }
        guard sealed.count > 6, Array(sealed.prefix(4)) == Self.magic, let sealedModel = FaceModel(wireValue: sealed[4])
        else {
            throw .invalid
        }
        // The space it was sealed in, as far as this server can know it: another family's
        // built-in space, or (for an operator's model) this server's own, which authentication checks.
        let sealedSpace = sealedModel == space.model ? space : EmbeddingSpace.builtIn(sealedModel)
        // An operator's template at a built-in server: it cannot be authenticated without the
        // fingerprint, and it is of another model whatever it holds.
        guard let sealedSpace else { throw .otherModel }
        let idLength = Int(sealed[5])
        guard sealed.count == 6 + idLength + 8 + 12 + sealedSpace.dimension * 4 + 16 else { throw .invalid }
        let keyID = String(decoding: sealed[6..<(6 + idLength)], as: UTF8.self)
        let expiry = sealed[(6 + idLength)..<(14 + idLength)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard let key = self.keys.first(where: { $0.id == keyID }) else { throw .invalid }
        let aad = Self.associatedData(space: sealedSpace, tenant: tenant, keyID: keyID, expiry: expiry)
        guard
            var plaintext = try? AES.GCM.open(
                AES.GCM.SealedBox(combined: sealed[(14 + idLength)...]),
                using: key.secret,
                authenticating: aad
            ).map({ $0 })
        else { throw .invalid }
        defer { plaintext.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) } }
        guard sealedModel == space.model else { throw .otherModel }
        // Checked after authentication, so an attacker cannot learn anything from the expiry field alone.
        guard UInt64(now.timeIntervalSince1970) <= expiry else { throw .expired }
        let values = (0..<sealedSpace.dimension).map { i -> Float in
            let bits = plaintext[(i * 4)..<(i * 4 + 4)].enumerated().reduce(UInt32(0)) {
                $0 | UInt32($1.element) << (8 * UInt32($1.offset))
            }
            return Float(bitPattern: bits)
        }
        guard let embedding = try? FaceEmbedding(values, space: sealedSpace) else { throw .invalid }
        return embedding
    }

    enum SealerError: Error { case noKey }
}
