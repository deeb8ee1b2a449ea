import Foundation

/// A c2sp.org/tlog-checkpoint: the log's origin, its size, and its root hash, signed as a note.
public struct Checkpoint: Sendable, Hashable {
    /// The log's unique name (also the signing key's name).
    public let origin: String
    /// Entries in the log.
    public let size: UInt64
    /// RFC 6962 root hash of those entries.
    public let rootHash: [UInt8]
    /// Extension lines, in order (none written by simverify).
    public let extensions: [String]

    /// Creates a checkpoint.
    public init(origin: String, size: UInt64, rootHash: [UInt8], extensions: [String] = []) {
        self.origin = origin
        self.size = size
        self.rootHash = rootHash
        self.extensions = extensions
    }

    /// The note body: `origin\nsize\nbase64(root)\n` and the extension lines.
    public var body: String {
        ([self.origin, String(self.size), Data(self.rootHash).base64EncodedString()] + self.extensions)
            .map { $0 + "\n" }.joined()
    }

    /// Parses a note body.
    /// - Parameter expectedOrigin: When given, any other origin is refused.
    /// - Throws: `AuditError` `.malformedCheckpoint` or `.wrongOrigin`.
    public init(body: [UInt8], expectedOrigin: String? = nil) throws {
        let malformed = AuditError(.malformedCheckpoint, "not a tlog checkpoint")
        guard let text = String(validating: body, as: UTF8.self), text.hasSuffix("\n") else { throw malformed }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 3, !lines[0].isEmpty else { throw malformed }
        let sizeText = lines[1]
        guard !sizeText.isEmpty, sizeText.allSatisfy({ ("0"..."9").contains($0) }),
            sizeText == "0" || !sizeText.hasPrefix("0"),
            let size = UInt64(sizeText), let root = Data(base64Encoded: lines[2]), root.count == 32,
            lines.dropFirst(3).allSatisfy({ !$0.isEmpty })
        else { throw malformed }
        if let expectedOrigin, expectedOrigin != lines[0] {
            throw AuditError(.wrongOrigin, "the checkpoint is for another log")
        }
        self.origin = lines[0]
        self.size = size
        self.rootHash = Array(root)
        self.extensions = Array(lines.dropFirst(3))
    }

    /// Verifies a signed checkpoint note with the log's key and parses it.
    public static func open(
        _ note: [UInt8],
        verifier: NoteVerifier,
        extraVerifiers: [NoteVerifier] = []
    ) throws -> Checkpoint {
        let opened = try SignedNote.open(note, verifiers: [verifier] + extraVerifiers)
        guard opened.verified.contains(where: { $0.name == verifier.name && $0.keyID == verifier.keyID }) else {
            throw AuditError(.unverifiedNote, "the checkpoint is not signed by the log's key")
        }
        return try Checkpoint(body: opened.text, expectedOrigin: verifier.name)
    }

    /// Signs this checkpoint as a note by `signer`, whose name must be the origin.
    public func signed(by signer: NoteSigner) throws -> [UInt8] {
        guard signer.name == self.origin else {
            throw AuditError(.malformedKey, "the log key's name must be the origin")
        }
        return try SignedNote(text: self.body).signed(by: signer).serialized
    }
}
