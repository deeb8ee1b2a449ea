import Foundation

extension AuditBundle {
    /// What a pull did.
    public struct PullResult: Sendable, Hashable {
        /// Entries before the pull.
        public var previousSize: UInt64
        /// Entries after it (the size of the new checkpoint).
        public var size: UInt64

        /// Creates a result.
        public init(previousSize: UInt64, size: UInt64) {
            self.previousSize = previousSize
            self.size = size
        }
    }

    /// Brings the bundle up to the source's latest checkpoint, checking on the way that
    /// - the checkpoint is signed by the log's key,
    /// - it is consistent with the last checkpoint kept (the log only grew: no dropped entries,
    ///   no rewritten history, no fork shown to someone else),
    /// - every new entry is a canonical record, and all of them give the signed root.
    /// Nothing is written unless every check passes.
    /// - Throws: `AuditError` `.inconsistent` (with the reason), `.malformedRecord` naming the
    ///   index, `.unverifiedNote` / `.invalidSignature` for a checkpoint not from the log's key.
    @discardableResult
    public func pull(
        from source: some AuditLogSource,
        progress: ((UInt64, UInt64) -> Void)? = nil
    ) async throws -> PullResult {
        let note = try await source.checkpoint()
        let checkpoint = try Checkpoint.open(note, verifier: self.verifier)
        let kept = try self.latestCheckpoint()
        let have = self.entryCount
        if let kept {
            guard checkpoint.size >= kept.size else {
                throw AuditError(
                    .inconsistent,
                    "the log shrank from \(kept.size) to \(checkpoint.size) entries: entries were dropped"
                )
            }
            if checkpoint.size == kept.size {
                guard checkpoint.rootHash == kept.rootHash else {
                    throw AuditError(.inconsistent, "two different signed roots for size \(kept.size): the log forked")
                }
            } else {
                let proof = try await source.consistencyProof(from: kept.size, to: checkpoint.size)
                guard
                    MerkleProofVerifier.verifyConsistency(
                        size1: kept.size,
                        size2: checkpoint.size,
                        root1: kept.rootHash,
                        root2: checkpoint.rootHash,
                        proof: proof
                    )
                else {
                    throw AuditError(
                        .inconsistent,
                        "checkpoint \(checkpoint.size) is not consistent with checkpoint \(kept.size) kept earlier: history was rewritten or forked"
                    )
                }
            }
        }
        guard have <= checkpoint.size else {
            throw AuditError(
                .inconsistent,
                "the bundle holds more entries (\(have)) than the log's checkpoint (\(checkpoint.size))"
            )
        }
        var tree = try self.tree()
        var entryBytes = Data()
        var hashBytes = Data()
        var next = have
        while next < checkpoint.size {
            let end = min(next + 1000, checkpoint.size)
            let page = try await source.entries(from: next, to: end)
            guard page.count == Int(end - next) else {
                throw AuditError(.inconsistent, "the log returned \(page.count) entries for \(next)..<\(end)")
            }
            for (offset, bytes) in page.enumerated() {
                do {
                    _ = try AuditRecord(encoded: bytes)
                } catch {
                    throw AuditError(.malformedRecord, "entry \(next + UInt64(offset)) is not a canonical record")
                }
                let hash = MerkleHash.leaf(bytes)
                tree.append(leafHash: hash)
                var length = UInt32(bytes.count).bigEndian
                withUnsafeBytes(of: &length) { entryBytes.append(contentsOf: $0) }
                entryBytes.append(contentsOf: bytes)
                hashBytes.append(contentsOf: hash)
            }
            next = end
            progress?(next - have, checkpoint.size - have)
        }
        guard tree.root(size: checkpoint.size) == checkpoint.rootHash else {
            throw AuditError(.inconsistent, "the entries do not give the signed root of checkpoint \(checkpoint.size)")
        }
        try Self.append(entryBytes, to: self.entriesPath)
        try Self.append(hashBytes, to: self.leafHashesPath)
        try Data(note).write(
            to: URL(fileURLWithPath: self.checkpointsPath + "/\(checkpoint.size).note"),
            options: .atomic
        )
        return PullResult(previousSize: have, size: checkpoint.size)
    }

    static func append(_ data: Data, to path: String) throws {
        guard !data.isEmpty else { return }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw AuditError(.storage, "cannot write \(path)")
        }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: data)
        try handle.synchronize()
    }
}
