/// Where a regulator's bundle gets entries, checkpoints and proofs: the server over mutual TLS
/// (the `simverify-audit` tool), or a log in the same process (tests).
public protocol AuditLogSource: Sendable {
    /// The latest signed checkpoint note.
    func checkpoint() async throws -> [UInt8]
    /// Canonical bytes of entries [start, end), at most 1000.
    func entries(from start: UInt64, to end: UInt64) async throws -> [[UInt8]]
    /// The RFC 6962 consistency proof between two sizes.
    func consistencyProof(from: UInt64, to: UInt64) async throws -> [[UInt8]]
}
