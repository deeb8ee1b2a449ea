import Foundation

extension AuditBundle {
    /// The outcome of an offline verification: a value, not an error.
    public struct VerificationReport: Sendable, Hashable, Codable {
        /// Entries checked.
        public var entries: UInt64
        /// Checkpoints whose signature and root were checked.
        public var checkpointsVerified: Int
        /// The size of the largest verified checkpoint.
        public var verifiedSize: UInt64
        /// The first entry found bad, when one is.
        public var firstBadIndex: UInt64?
        /// What is wrong, empty when all is well.
        public var problem: String
        /// True when everything verified.
        public var ok: Bool { self.problem.isEmpty }
    }

    /// Recomputes everything from the entries and checks every kept checkpoint:
    /// each entry is a canonical record whose leaf hash is the one recorded when it was pulled,
    /// the leaf hashes give every checkpoint's signed root, and every checkpoint is signed by the
    /// log's key. The first bad entry is named.
    public func verify(
        extraVerifiers: [NoteVerifier] = [],
        progress: ((UInt64, UInt64) -> Void)? = nil
    ) throws -> VerificationReport {
        var report = VerificationReport(
            entries: 0,
            checkpointsVerified: 0,
            verifiedSize: 0,
            firstBadIndex: nil,
            problem: ""
        )
        let entries = try Data(contentsOf: URL(fileURLWithPath: self.entriesPath), options: .alwaysMapped)
        let hashes = try Data(contentsOf: URL(fileURLWithPath: self.leafHashesPath), options: .alwaysMapped)
        let count = UInt64(hashes.count / 32)
        var tree = MerkleTree()
        var bad: (UInt64, String)?
        entries.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            hashes.withUnsafeBytes { (stored: UnsafeRawBufferPointer) in
                var offset = 0
                for index in 0..<count {
                    let recorded = Array(stored[Int(index * 32)..<Int(index * 32 + 32)])
                    tree.append(leafHash: recorded)
                    guard bad == nil else { continue }
                    guard offset + 4 <= raw.count else {
                        bad = (index, "entry \(index) is missing from entries.bin")
                        continue
                    }
                    let length =
                        Int(raw[offset]) << 24 | Int(raw[offset + 1]) << 16 | Int(raw[offset + 2]) << 8
                        | Int(raw[offset + 3])
                    guard offset + 4 + length <= raw.count else {
                        bad = (index, "entry \(index) is truncated")
                        continue
                    }
                    let record = UnsafeRawBufferPointer(rebasing: raw[(offset + 4)..<(offset + 4 + length)])
                    offset += 4 + length
                    if MerkleHash.leaf(record) != recorded {
                        bad = (index, "entry \(index) does not match the leaf hash recorded when it was pulled")
                    } else if (try? AuditRecord(encoded: Array(record))) == nil {
                        bad = (index, "entry \(index) is not a canonical record")
                    }
                    if index % 65536 == 0 { progress?(index, count) }
                }
                if bad == nil && offset != raw.count { bad = (count, "entries.bin has bytes after entry \(count - 1)") }
            }
        }
        report.entries = count
        if let (index, problem) = bad {
            report.firstBadIndex = index
            report.problem = problem
            return report
        }
        // Every kept checkpoint: signed by the log's key, and the root of the first SIZE leaf hashes.
        var previous: UInt64 = 0
        for (size, note) in try self.checkpointNotes() {
            let checkpoint: Checkpoint
            do {
                checkpoint = try Checkpoint.open(note, verifier: self.verifier, extraVerifiers: extraVerifiers)
            } catch {
                report.problem = "checkpoint \(size) is not signed by the log's key: \(error)"
                return report
            }
            guard checkpoint.size == size, size <= count else {
                report.problem = "checkpoint \(size) covers entries the bundle does not hold (entries were dropped)"
                report.firstBadIndex = count
                return report
            }
            guard tree.root(size: size) == checkpoint.rootHash else {
                // Localise to the window between the last good checkpoint and this one.
                report.problem =
                    "the leaf hashes do not give the signed root of checkpoint \(size); the bad entry is in \(previous)..<\(size)"
                report.firstBadIndex = previous
                return report
            }
            previous = size
            report.checkpointsVerified += 1
            report.verifiedSize = size
        }
        progress?(count, count)
        return report
    }

    /// Proves a receipt (leaf index and leaf hash) against the latest kept checkpoint, offline.
    /// - Returns: The checkpoint the receipt was proved in.
    /// - Throws: `AuditError` `.inconsistent` when the receipt is not in the log as kept.
    public func prove(index: UInt64, leafHash: [UInt8]) throws -> Checkpoint {
        guard let checkpoint = try self.latestCheckpoint() else {
            throw AuditError(.inconsistent, "the bundle has no checkpoint: pull first")
        }
        guard index < checkpoint.size else {
            throw AuditError(
                .inconsistent,
                "entry \(index) is beyond the latest checkpoint (\(checkpoint.size)): pull again"
            )
        }
        let tree = try self.tree()
        let proof = tree.inclusionProof(index: index, size: checkpoint.size)
        guard
            MerkleProofVerifier.verifyInclusion(
                leafHash: leafHash,
                index: index,
                size: checkpoint.size,
                proof: proof,
                root: checkpoint.rootHash
            )
        else {
            throw AuditError(
                .inconsistent,
                "the receipt for entry \(index) is not in the log signed at size \(checkpoint.size)"
            )
        }
        return checkpoint
    }
}
