import SimverifyAudit

/// The appends waiting for a log's next transaction (group commit): records that arrive while a
/// commit is in progress are committed together in the next one, one durable write for many. Each
/// log (SQLite, PostgreSQL) keeps one inside its actor: `enqueue` from `append`, a drain loop of
/// `nextBatch` and `finish`, and `isIdle` before the final checkpoint.
public struct GroupCommitQueue: Sendable {
    /// One record waiting, with its caller.
    public struct Pending: Sendable {
        /// The record's canonical bytes.
        public let bytes: [UInt8]
        /// The record.
        public let record: AuditRecord
        fileprivate let continuation: CheckedContinuation<AuditReceipt, Error>
    }

    private var pending: [Pending] = []
    private var draining = false

    /// An empty queue.
    public init() {}

    /// Nothing waiting and no drain running.
    public var isIdle: Bool { !self.draining && self.pending.isEmpty }

    /// Queues a record. Returns true when no drain is running: the caller starts one.
    public mutating func enqueue(
        _ bytes: [UInt8],
        _ record: AuditRecord,
        _ continuation: CheckedContinuation<AuditReceipt, Error>
    ) -> Bool {
        self.pending.append(Pending(bytes: bytes, record: record, continuation: continuation))
        if self.draining { return false }
        self.draining = true
        return true
    }

    /// The next batch to commit (at most `limit` records, in arrival order), or nil when nothing
    /// waits: the drain ends.
    public mutating func nextBatch(limit: Int) -> [Pending]? {
        guard !self.pending.isEmpty else {
            self.draining = false
            return nil
        }
        let batch = Array(self.pending.prefix(max(1, limit)))
        self.pending.removeFirst(batch.count)
        return batch
    }

    /// Answers a committed batch's callers with their receipts (in the batch's order), or every
    /// caller with the error when the commit failed.
    public static func finish(_ batch: [Pending], with result: Result<[AuditReceipt], AuditError>) {
        switch result {
        case .success(let receipts) where receipts.count == batch.count:
            for (item, receipt) in zip(batch, receipts) { item.continuation.resume(returning: receipt) }
        case .success:
            for item in batch {
                item.continuation.resume(throwing: AuditError(.storage, "the audit log could not record the decision"))
            }
        case .failure(let error):
            for item in batch { item.continuation.resume(throwing: error) }
        }
    }
}
