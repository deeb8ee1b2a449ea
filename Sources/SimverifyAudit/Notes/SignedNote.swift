import Foundation

/// One signature line of a note: `— NAME base64(keyID ‖ signature)`.
public struct NoteSignature: Sendable, Hashable {
    /// The signer's name.
    public let name: String
    /// The signer's key id.
    public let keyID: UInt32
    /// The signature bytes (without the key id).
    public let signature: [UInt8]

    /// The base64 of key id ‖ signature, as on the line.
    public var base64: String {
        let id: [UInt8] = [
            UInt8(self.keyID >> 24), UInt8(self.keyID >> 16 & 0xFF), UInt8(self.keyID >> 8 & 0xFF),
            UInt8(self.keyID & 0xFF),
        ]
        return Data(id + self.signature).base64EncodedString()
    }
}

/// A c2sp.org/signed-note: UTF-8 text ending in a newline, a blank line, and signature lines.
public struct SignedNote: Sendable, Hashable {
    /// Most signature lines a note may carry.
    public static let maxSignatures = 100
    private static let prefix = Array("— ".utf8)  // U+2014 EM DASH, space

    /// The signed text, ending with a newline.
    public let text: [UInt8]
    /// Every signature line, in order.
    public let signatures: [NoteSignature]

    /// A note to be signed.
    public init(text: String, signatures: [NoteSignature] = []) throws {
        let bytes = Array(text.utf8)
        guard Self.isValidText(bytes), bytes.last == 0x0A else {
            throw AuditError(.malformedNote, "note text must be UTF-8 without control characters, ending in a newline")
        }
        self.text = bytes
        self.signatures = signatures
    }

    /// Parses a note without verifying it.
    /// - Throws: `AuditError` `.malformedNote`.
    public init(parsing bytes: [UInt8]) throws {
        let malformed = AuditError(.malformedNote, "malformed note")
        guard bytes.count < 1 << 20, String(validating: bytes, as: UTF8.self) != nil,
            bytes.allSatisfy({ $0 >= 0x20 || $0 == 0x0A }), bytes.last == 0x0A
        else { throw malformed }
        // The text ends at the last blank line: text may contain blank lines, signatures may not.
        guard let split = (0..<(bytes.count - 1)).last(where: { bytes[$0] == 0x0A && bytes[$0 + 1] == 0x0A }) else {
            throw malformed
        }
        let text = Array(bytes[...split])
        let block = bytes[(split + 2)...]
        guard !block.isEmpty else { throw malformed }
        var signatures: [NoteSignature] = []
        for line in block.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast() {
            guard line.starts(with: Self.prefix) else { throw malformed }
            let rest = line.dropFirst(Self.prefix.count)
            guard let space = rest.firstIndex(of: 0x20) else { throw malformed }
            let name = String(decoding: rest[..<space], as: UTF8.self)
            let encoded = String(decoding: rest[(space + 1)...], as: UTF8.self)
            guard NoteKeyID.isValidName(name), !encoded.isEmpty, let raw = Data(base64Encoded: encoded), raw.count >= 5
            else {
                throw malformed
            }
            let id = raw.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            signatures.append(NoteSignature(name: name, keyID: id, signature: Array(raw.dropFirst(4))))
            guard signatures.count <= Self.maxSignatures else { throw malformed }
        }
        self.text = text
        self.signatures = signatures
    }

    /// The verification outcome of `open`.
    public struct Opened: Sendable, Hashable {
        /// The text.
        public let text: [UInt8]
        /// Signatures by known keys, all valid, one per key.
        public let verified: [NoteSignature]
        /// Signatures by unknown keys, repeated identical lines dropped.
        public let unverified: [NoteSignature]
    }

    /// Parses and verifies a note against `verifiers`.
    /// - Throws: `AuditError` `.malformedNote`, `.invalidSignature` (a known key's signature is
    ///   bad), or `.unverifiedNote` (no signature from a known key).
    public static func open(_ bytes: [UInt8], verifiers: [NoteVerifier]) throws -> Opened {
        let note = try SignedNote(parsing: bytes)
        var verified: [NoteSignature] = []
        var unverified: [NoteSignature] = []
        var seenKeys: Set<String> = []
        for signature in note.signatures {
            guard let verifier = verifiers.first(where: { $0.name == signature.name && $0.keyID == signature.keyID })
            else {
                if !unverified.contains(signature) { unverified.append(signature) }
                continue
            }
            let key = "\(signature.name)+\(signature.keyID)"
            guard !seenKeys.contains(key) else { continue }
            seenKeys.insert(key)
            guard verifier.verify(signature.signature, of: note.text) else {
                throw AuditError(
                    .invalidSignature,
                    "invalid signature for key \(signature.name)+\(String(format: "%08x", signature.keyID))"
                )
            }
            verified.append(signature)
        }
        guard !verified.isEmpty else { throw AuditError(.unverifiedNote, "no signature from a known key") }
        return Opened(text: note.text, verified: verified, unverified: unverified)
    }

    /// The note's bytes: text, blank line, signature lines.
    public var serialized: [UInt8] {
        var bytes = self.text + [0x0A]
        for signature in self.signatures {
            bytes += Self.prefix + Array(signature.name.utf8) + [0x20] + Array(signature.base64.utf8) + [0x0A]
        }
        return bytes
    }

    /// This note with one more signature by `signer`.
    public func signed(by signer: NoteSigner) throws -> SignedNote {
        try SignedNote(validText: self.text, signatures: self.signatures + [signer.sign(self.text)])
    }

    private init(validText: [UInt8], signatures: [NoteSignature]) {
        self.text = validText
        self.signatures = signatures
    }

    private static func isValidText(_ bytes: [UInt8]) -> Bool {
        String(validating: bytes, as: UTF8.self) != nil && bytes.allSatisfy { $0 >= 0x20 || $0 == 0x0A }
    }
}
