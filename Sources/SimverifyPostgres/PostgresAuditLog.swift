import Foundation
import Logging
import NIOCore
import PostgresNIO
import SimverifyAudit
import SimverifyAuditLog
import SimverifyCore

/// One audit log in PostgreSQL that every replica appends to: one tree, gapless leaf indices in
/// commit order, one signer (docs/AUDIT.md, "One log across replicas").
///
/// - **Appends**: each replica group-commits its pending records in one transaction that holds
///   the log's advisory lock (`pg_advisory_xact_lock`) from reading `audit_head` to COMMIT, so
///   the next index is always the head's size and no two replicas interleave. A decision is
///   answered only once its transaction committed (DESIGN.md invariant 3).
/// - **The tree**: each replica keeps the RFC 6962 tree in memory and brings it up to the head by
///   reading the records other replicas committed (under the lock when appending, before any
///   proof otherwise).
/// - **The signer**: the replica holding the session-level advisory lock `signer` signs
///   checkpoints; the others try for it every second. When the signer dies PostgreSQL frees the
///   lock with its connection and the next replica takes it: before signing it rebuilds its tree
///   up to the head and checks it against the last signed checkpoint, whoever signed it. Safety
///   rests on one record per index (the lock and the primary key), not on the signer lock.
public actor PostgresAuditLog: AuditStore, AuditLogSource {
    /// How the log is set up.
    public struct Configuration: Sendable {
        /// A checkpoint at least every this many entries...
        public var checkpointEveryEntries: UInt64
        /// ...and at least every this many seconds while entries arrive.
        public var checkpointEverySeconds: Double
        /// Most records in one transaction.
        public var maxBatch: Int

        /// Creates a configuration.
        public init(checkpointEveryEntries: UInt64 = 1000, checkpointEverySeconds: Double = 10, maxBatch: Int = 512) {
            self.checkpointEveryEntries = checkpointEveryEntries
            self.checkpointEverySeconds = checkpointEverySeconds
            self.maxBatch = maxBatch
        }
    }

    private let configuration: Configuration
    private let database: PostgresStorage
    private let signer: NoteSigner
    private let logger: Logger
    private var tree = MerkleTree()
    private var queue = GroupCommitQueue()
    private var lastCheckpointSize: UInt64 = 0
    private var lastCheckpointTime = ContinuousClock.now
    private var leaderTask: Task<Void, Never>?

    /// Whether this replica holds the signer lock now.
    public private(set) var isSigner = false

    /// The log's origin: the signing key's name.
    public nonisolated var origin: String { self.signer.name }

    /// Opens the log in `database` (creating its tables), rebuilds the tree from the stored
    /// records and checks it against the last signed checkpoint; then starts trying for the
    /// signer lock.
    /// - Throws: `AuditError` `.storage` when PostgreSQL fails, `.inconsistent` when the records
    ///   do not give the root of the last signed checkpoint.
    public init(
        database: PostgresStorage,
        signer: NoteSigner,
        configuration: Configuration = Configuration(),
        logger: Logger
    ) async throws {
        self.database = database
        self.signer = signer
        self.configuration = configuration
        self.logger = logger
        do {
            try await database.createSchema()
            try await self.catchUp()
            if let note = try await self.storedCheckpoint() {
                let signed = try Checkpoint.open(note, verifier: signer.verifier)
                guard signed.size <= self.tree.size, self.tree.root(size: signed.size) == signed.rootHash else {
                    throw AuditError(
                        .inconsistent,
                        "the stored records do not match the last signed checkpoint (size \(signed.size))"
                    )
                }
                self.lastCheckpointSize = signed.size
            }
        } catch let error as AuditError {
            throw error
        } catch {
            throw AuditError(
                .storage,
                "cannot open the audit log in PostgreSQL: \(String(reflecting: type(of: error)))"
            )
        }
        self.logger.info(
            "audit log open (PostgreSQL)",
            metadata: ["entries": "\(self.tree.size)", "checkpoint": "\(self.lastCheckpointSize)"]
        )
        self.leaderTask = Task { await self.seekSignerLock() }
    }

    // MARK: The tree

    /// Brings the tree up to the committed head: reads the records appended since (by any
    /// replica) and checks their indices run on without a gap.
    private func catchUp() async throws {
        let client = self.database.client
        let logger = self.logger
        let head = try await Self.size(of: client.query(Self.headQuery, logger: logger))
        try await self.catchUp(to: head) { from, to in
            try await client.query(Self.recordsQuery(from: from, to: to), logger: logger)
        }
    }

    private func catchUp(
        to head: Int64,
        query: (Int64, Int64) async throws -> PostgresRowSequence
    ) async throws {
        while Int64(self.tree.size) < head {
            let from = Int64(self.tree.size)
            let to = min(head, from + 10_000)
            let rows = try await query(from, to)
            for try await (index, record) in rows.decode((Int64, Data).self) {
                // Reads and appends interleave on this actor: a record another path already took
                // into the tree is skipped; one past the tree's end is a gap.
                let size = Int64(self.tree.size)
                if index < size { continue }
                guard index == size else {
                    throw AuditError(.inconsistent, "entry \(size) is missing from the audit log")
                }
                self.tree.append(leafHash: MerkleHash.leaf(Array(record)))
            }
            guard Int64(self.tree.size) >= to else {
                throw AuditError(.inconsistent, "entry \(self.tree.size) is missing from the audit log")
            }
        }
    }

    /// The log's size, from `audit_head`'s one row.
    private static let headQuery: PostgresQuery = "SELECT size FROM audit_head WHERE id = 1"

    private static func size(of rows: PostgresRowSequence) async throws -> Int64 {
        for try await size in rows.decode(Int64.self) { return size }
        throw AuditError(.inconsistent, "the audit log has no head")
    }

    /// Records `from..<to` with their indices, in order.
    private static func recordsQuery(from: Int64, to: Int64) -> PostgresQuery {
        "SELECT idx, record FROM audit_entries WHERE idx >= \(from) AND idx < \(to) ORDER BY idx"
    }

    // MARK: Appending

    /// Appends a record and returns once its transaction committed.
    /// - Throws: `AuditError` `.malformedRecord` or `.storage` (the decision must not be answered).
    public func append(_ record: AuditRecord) async throws -> AuditReceipt {
        let bytes = try record.encoded()
        return try await withCheckedThrowingContinuation { continuation in
            if self.queue.enqueue(bytes, record, continuation) { Task { await self.drain() } }
        }
    }

    private func drain() async {
        while let batch = self.queue.nextBatch(limit: self.configuration.maxBatch) {
            do {
                let first = try await self.commit(batch)
                let receipts = batch.enumerated().map { offset, item in
                    let hash = MerkleHash.leaf(item.bytes)
                    let index = UInt64(first) + UInt64(offset)
                    // A read's catch-up may have taken the committed record into the tree already.
                    if self.tree.size == index { self.tree.append(leafHash: hash) }
                    return AuditReceipt(leafIndex: index, leafHash: hash)
                }
                GroupCommitQueue.finish(batch, with: .success(receipts))
            } catch {
                // A commit whose outcome is unknown (the connection lost at COMMIT) is answered as
                // a failure too: the caller answers UNAVAILABLE, and if the records did commit
                // they are in the log without a receipt (docs/AUDIT.md).
                self.logger.error(
                    "audit append failed",
                    metadata: ["records": "\(batch.count)", "error": "\(String(reflecting: type(of: error)))"]
                )
                GroupCommitQueue.finish(
                    batch,
                    with: .failure(AuditError(.storage, "the audit log could not record the decision"))
                )
            }
        }
    }

    /// Commits `batch` at the head under the log's lock; returns the first index it took. The
    /// tree takes the records other replicas committed before it on the way.
    private func commit(_ batch: [GroupCommitQueue.Pending]) async throws -> Int64 {
        let logger = self.logger
        return try await self.database.client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresStorage.Lock.log))", logger: logger)
            let head = try await Self.size(of: connection.query(Self.headQuery, logger: logger))
            try await self.catchUp(to: head) { from, to in
                try await connection.query(Self.recordsQuery(from: from, to: to), logger: logger)
            }
            // One statement per table for the whole batch (arrays unnested), not one per row.
            var indices: [Int64] = []
            var records: [ByteBuffer] = []
            var tenants: [String] = []
            var days: [Int64] = []
            var events: [Int32] = []
            var decisions: [String] = []
            var hmacs: [ByteBuffer] = []
            var hmacIndices: [Int64] = []
            for (offset, item) in batch.enumerated() {
                let index = head + Int64(offset)
                indices.append(index)
                records.append(ByteBuffer(bytes: item.bytes))
                tenants.append(item.record.tenant)
                days.append(Int64(item.record.time / 86400))
                events.append(Int32(item.record.event.rawValue))
                decisions.append(item.record.decision?.rawValue ?? "")
                for identifier in item.record.identifiers {
                    hmacs.append(ByteBuffer(bytes: identifier.hmac))
                    hmacIndices.append(index)
                }
            }
            try await connection.query(
                """
                INSERT INTO audit_entries (idx, record, tenant, day, event, decision)
                SELECT * FROM unnest(\(indices)::bigint[], \(records)::bytea[], \(tenants)::text[], \(days)::bigint[],
                \(events)::integer[], \(decisions)::text[])
                """,
                logger: logger
            )
            if !hmacs.isEmpty {
                try await connection.query(
                    "INSERT INTO audit_subject_index (hmac, idx) SELECT * FROM unnest(\(hmacs)::bytea[], \(hmacIndices)::bigint[])",
                    logger: logger
                )
            }
            try await connection.query(
                "UPDATE audit_head SET size = \(head + Int64(batch.count)) WHERE id = 1",
                logger: logger
            )
            return head
        }
    }

    // MARK: Checkpoints

    /// Tries for the signer lock every second on a connection of its own, holds it while that
    /// connection lives, and signs checkpoints while it holds it.
    private func seekSignerLock() async {
        let database = self.database
        let logger = self.logger
        while !Task.isCancelled {
            do {
                try await database.client.withConnection { connection in
                    var holding = false
                    while !Task.isCancelled {
                        if !holding {
                            for try await got in try await connection.query(
                                "SELECT pg_try_advisory_lock(\(PostgresStorage.Lock.signer))",
                                logger: logger
                            ).decode(Bool.self) {
                                holding = got
                            }
                            if holding {
                                logger.info("audit log signer lock taken")
                                await self.setSigner(true)
                            }
                        } else {
                            // The connection still answers: the lock is still ours.
                            try await connection.query("SELECT 1", logger: logger)
                            await self.checkpointIfDue()
                        }
                        try? await Task.sleep(for: .milliseconds(holding ? 250 : 1000))
                    }
                    if holding {
                        await self.setSigner(false)
                        try? await connection.query(
                            "SELECT pg_advisory_unlock(\(PostgresStorage.Lock.signer))",
                            logger: logger
                        )
                    }
                }
            } catch {
                self.isSigner = false
                logger.warning(
                    "audit log signer connection lost",
                    metadata: ["error": "\(String(reflecting: type(of: error)))"]
                )
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func setSigner(_ value: Bool) {
        self.isSigner = value
        if value { self.lastCheckpointTime = ContinuousClock.now }
    }

    /// Signs a checkpoint when this replica is the signer and enough entries or time have passed.
    public func checkpointIfDue() async {
        guard self.isSigner else { return }
        do {
            try await self.catchUp()
            let due = self.currentState.checkpointDue(
                everyEntries: self.configuration.checkpointEveryEntries,
                everySeconds: self.configuration.checkpointEverySeconds
            )
            if due { _ = try await self.sign() }
        } catch is CancellationError {
            return
        } catch {
            self.logger.error("audit checkpoint failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
        }
    }

    /// Signs and stores a checkpoint of the tree's size, after checking it extends the last
    /// stored one (whichever replica signed that).
    private func sign() async throws -> [UInt8] {
        let size = self.tree.size
        if let note = try await self.storedCheckpoint() {
            let last = try Checkpoint.open(note, verifier: self.signer.verifier)
            if last.size == size { return note }
            guard last.size < size, self.tree.root(size: last.size) == last.rootHash else {
                throw AuditError(.inconsistent, "refusing to sign a checkpoint inconsistent with the last one")
            }
        }
        let note = try Checkpoint(origin: self.signer.name, size: size, rootHash: self.tree.root(size: size))
            .signed(by: self.signer)
        try await self.database.client.query(
            "INSERT INTO audit_checkpoints (size, note) VALUES (\(Int64(size)), \(Data(note))) ON CONFLICT (size) DO NOTHING",
            logger: self.logger
        )
        self.lastCheckpointSize = size
        self.lastCheckpointTime = ContinuousClock.now
        return try await self.storedCheckpoint() ?? note
    }

    private func storedCheckpoint() async throws -> [UInt8]? {
        let rows = try await self.database.client.query(
            "SELECT note FROM audit_checkpoints ORDER BY size DESC LIMIT 1",
            logger: self.logger
        )
        for try await note in rows.decode(Data.self) { return Array(note) }
        return nil
    }

    /// The latest signed checkpoint: the signer signs the entries since the last one first; any
    /// other replica answers the last one stored (from whichever replica signed it).
    public func latestSignedCheckpoint() async throws -> [UInt8] {
        try await self.storage {
            try await self.catchUp()
            if self.isSigner { return try await self.sign() }
            guard let note = try await self.storedCheckpoint() else {
                throw AuditError(.storage, "no checkpoint has been signed yet")
            }
            return note
        }
    }

    public func checkpoint() async throws -> [UInt8] { try await self.latestSignedCheckpoint() }

    /// Waits for the appends in progress, signs a final checkpoint if this replica is the signer,
    /// and gives up the signer lock.
    public func close() async {
        while !self.queue.isIdle { try? await Task.sleep(for: .milliseconds(5)) }
        if self.isSigner, (try? await self.catchUp()) != nil { _ = try? await self.sign() }
        self.leaderTask?.cancel()
        await self.leaderTask?.value
        self.leaderTask = nil
    }

    // MARK: Reading (any replica)

    public func state() async -> AuditLogState? { self.currentState }

    /// Where this replica's view of the log stands now.
    private var currentState: AuditLogState {
        AuditLogState(
            entries: self.tree.size,
            checkpointEntries: self.lastCheckpointSize,
            secondsSinceCheckpoint: (ContinuousClock.now - self.lastCheckpointTime).inSeconds
        )
    }

    public func entries(from start: UInt64, to end: UInt64) async throws -> [[UInt8]] {
        try await self.storage {
            try await self.catchUp()
            guard start <= end, end <= self.tree.size, end - start <= 1000 else {
                throw AuditError(.inconsistent, "entry range outside the log or over 1000 entries")
            }
            var records: [[UInt8]] = []
            for try await record in try await self.database.client.query(
                "SELECT record FROM audit_entries WHERE idx >= \(Int64(start)) AND idx < \(Int64(end)) ORDER BY idx",
                logger: self.logger
            ).decode(Data.self) {
                records.append(Array(record))
            }
            return records
        }
    }

    public func inclusionProof(index: UInt64, size: UInt64) async throws -> [[UInt8]] {
        try await self.storage {
            if size > self.tree.size { try await self.catchUp() }
            guard index < size, size <= self.tree.size else {
                throw AuditError(.inconsistent, "index or size outside the log")
            }
            return self.tree.inclusionProof(index: index, size: size)
        }
    }

    public func consistencyProof(from: UInt64, to: UInt64) async throws -> [[UInt8]] {
        try await self.storage {
            if to > self.tree.size { try await self.catchUp() }
            guard from <= to, to <= self.tree.size else { throw AuditError(.inconsistent, "sizes outside the log") }
            return self.tree.consistencyProof(from: from, to: to)
        }
    }

    public func entries(matching hmacs: [[UInt8]]) async throws -> [UInt64] {
        guard !hmacs.isEmpty else { return [] }
        let keys = hmacs.map { ByteBuffer(bytes: $0) }
        return try await self.storage {
            var found: [UInt64] = []
            for try await index in try await self.database.client.query(
                "SELECT DISTINCT idx FROM audit_subject_index WHERE hmac = ANY(\(keys)::bytea[]) ORDER BY idx",
                logger: self.logger
            ).decode(Int64.self) {
                found.append(UInt64(index))
            }
            return found
        }
    }

    public func stats() async throws -> [AuditLog.StatsRow] {
        try await self.storage {
            var rows: [AuditLog.StatsRow] = []
            for try await (tenant, event, decision, day, count) in try await self.database.client.query(
                """
                SELECT tenant, event, decision, day, COUNT(*) FROM audit_entries
                GROUP BY tenant, event, decision, day ORDER BY day, tenant, event, decision
                """,
                logger: self.logger
            ).decode((String, Int32, String, Int64, Int64).self) {
                guard let kind = AuditRecord.Event(rawValue: UInt8(clamping: event)) else { continue }
                rows.append(AuditLog.StatsRow(tenant: tenant, event: kind, decision: decision, day: day, count: count))
            }
            return rows
        }
    }

    /// Runs `body`, turning PostgreSQL's errors into the log's storage error (no SQL, no value).
    private func storage<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as AuditError {
            throw error
        } catch {
            throw AuditError(.storage, "audit log read failed: \(String(reflecting: type(of: error)))")
        }
    }
}
