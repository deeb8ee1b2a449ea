@preconcurrency import Crypto
import Foundation

/// Ed25519 keys of c2sp.org/signed-note: a key id is the first 4 bytes of
/// SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key).
public enum NoteKeyID {
    /// The signature type byte of Ed25519.
    public static let ed25519: UInt8 = 0x01

    /// The key id of an Ed25519 key.
    public static func compute(name: String, publicKey: [UInt8]) -> UInt32 {
        var hasher = SHA256()
        hasher.update(data: Array(name.utf8) + [0x0A, Self.ed25519] + publicKey)
        let digest = Array(hasher.finalize())
        return UInt32(digest[0]) << 24 | UInt32(digest[1]) << 16 | UInt32(digest[2]) << 8 | UInt32(digest[3])
    }

    /// True for a valid key name: non-empty, no Unicode space, no '+'.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("+") && !name.unicodeScalars.contains { $0.properties.isWhitespace }
            && !name.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }
}

/// A verifier key: checks signatures of one named Ed25519 key.
public struct NoteVerifier: Sendable, Hashable {
    /// The key's name (for a log, its origin).
    public let name: String
    /// The key id.
    public let keyID: UInt32
    /// The Ed25519 public key, 32 bytes.
    public let publicKey: [UInt8]

    /// Parses a vkey: `NAME+KEYID+base64(0x01 ‖ public key)`, KEYID 8 lowercase hex digits.
    /// - Throws: `AuditError` `.malformedKey` for anything else, including a key id that does
    ///   not match the name and key.
    public init(vkey: String) throws {
        let parts = vkey.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, NoteKeyID.isValidName(parts[0]), parts[1].count == 8,
            parts[1].allSatisfy({ ("0"..."9").contains($0) || ("a"..."f").contains($0) }),
            let id = UInt32(parts[1], radix: 16), let key = Data(base64Encoded: parts[2]),
            key.count == 33, key.first == NoteKeyID.ed25519,
            Data(base64Encoded: parts[2])?.base64EncodedString() == parts[2]
        else { throw AuditError(.malformedKey, "not a valid Ed25519 verifier key") }
        let publicKey = Array(key.dropFirst())
        guard NoteKeyID.compute(name: parts[0], publicKey: publicKey) == id else {
            throw AuditError(.malformedKey, "the key id does not match the key")
        }
        self.name = parts[0]
        self.keyID = id
        self.publicKey = publicKey
    }

    /// Creates a verifier from a public key.
    public init(name: String, publicKey: Curve25519.Signing.PublicKey) throws {
        guard NoteKeyID.isValidName(name) else { throw AuditError(.malformedKey, "invalid key name") }
        self.name = name
        self.publicKey = Array(publicKey.rawRepresentation)
        self.keyID = NoteKeyID.compute(name: name, publicKey: self.publicKey)
    }

    /// The vkey string.
    public var vkey: String {
        "\(self.name)+\(String(format: "%08x", self.keyID))+\(Data([NoteKeyID.ed25519] + self.publicKey).base64EncodedString())"
    }

    /// True when `signature` is this key's signature of `message`.
    public func verify(_ signature: [UInt8], of message: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: self.publicKey) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}

/// A signer key: signs notes as one named Ed25519 key.
public struct NoteSigner: Sendable {
    /// The key's name.
    public let name: String
    /// The private key.
    public let privateKey: Curve25519.Signing.PrivateKey

    /// Creates a signer.
    public init(name: String, privateKey: Curve25519.Signing.PrivateKey) throws {
        guard NoteKeyID.isValidName(name) else { throw AuditError(.malformedKey, "invalid key name") }
        self.name = name
        self.privateKey = privateKey
    }

    /// Parses an skey: `PRIVATE+KEY+NAME+KEYID+base64(0x01 ‖ seed)`.
    public init(skey: String) throws {
        let prefix = "PRIVATE+KEY+"
        guard skey.hasPrefix(prefix) else { throw AuditError(.malformedKey, "not a signer key") }
        let parts = skey.dropFirst(prefix.count).split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
            .map(String.init)
        guard parts.count == 3, NoteKeyID.isValidName(parts[0]), parts[1].count == 8,
            let id = UInt32(parts[1], radix: 16),
            parts[1] == String(format: "%08x", id), let seed = Data(base64Encoded: parts[2]), seed.count == 33,
            seed.first == NoteKeyID.ed25519,
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed.dropFirst())
        else { throw AuditError(.malformedKey, "not a valid Ed25519 signer key") }
        guard NoteKeyID.compute(name: parts[0], publicKey: Array(key.publicKey.rawRepresentation)) == id else {
            throw AuditError(.malformedKey, "the key id does not match the key")
        }
        self.name = parts[0]
        self.privateKey = key
    }

    /// The skey string (a secret).
    public var skey: String {
        "PRIVATE+KEY+\(self.name)+\(String(format: "%08x", self.keyID))+\(Data([NoteKeyID.ed25519] + Array(self.privateKey.rawRepresentation)).base64EncodedString())"
    }

    /// The key id.
    public var keyID: UInt32 {
        NoteKeyID.compute(name: self.name, publicKey: Array(self.privateKey.publicKey.rawRepresentation))
    }

    /// The matching verifier.
    public var verifier: NoteVerifier { try! NoteVerifier(name: self.name, publicKey: self.privateKey.publicKey) }

    /// Signs the note text (which must end with a newline).
    public func sign(_ text: [UInt8]) throws -> NoteSignature {
        let signature = try self.privateKey.signature(for: text)
        return NoteSignature(name: self.name, keyID: self.keyID, signature: Array(signature))
    }
}
