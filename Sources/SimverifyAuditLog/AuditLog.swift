import Foundation
import GRDB
import Logging
import SimverifyAudit
import SimverifyCore

/// Where a record sits in the log: what a Verify response carries.
public struct AuditReceipt: Sendable, Hashable {
    /// The record's 0-based index.
    public let leafIndex: UInt64
    /// `MerkleHash.leaf` of the record's canonical bytes.
    public let leafHash: [UInt8]

    /// Creates a receipt.
    public init(leafIndex: UInt64, leafHash: [UInt8]) {
        self.leafIndex = leafIndex
        self.leafHash = leafHash
    }
}

/// The durable, append-only audit log: canonical records in SQLite (WAL, `synchronous=FULL`,
/// so a commit is on disk), an in-memory RFC 6962 tree over them, and signed checkpoints.
///
/// `append` returns only once the record is committed (DESIGN.md invariant 3). Appends that
/// arrive while a commit is in progress are committed together in the next transaction (group
/// commit): one fsync for many records. At start the tree is rebuilt from the records
/// themselves and checked against the last signed checkpoint; a log that does not match refuses
/// to open rather than sign anything inconsistent with what it signed before.
public actor AuditLog {
    /// How the log is set up.
    public struct Configuration: Sendable {
        /// The SQLite file.
        public var path: String
        /// A checkpoint is signed at least every this many entries...
        public var checkpointEveryEntries: UInt64
        /// ...and at least every this many seconds while entries arrive (and at shutdown).
        public var checkpointEverySeconds: Double
        /// Most records in one transaction.
        public var maxBatch: Int

        /// Creates a configuration.
        public init(
            path: String,
            checkpointEveryEntries: UInt64 = 1000,
            checkpointEverySeconds: Double = 10,
            maxBatch: Int = 1024
        ) {
            self.path = path
            self.checkpointEveryEntries = checkpointEveryEntries
            self.checkpointEverySeconds = checkpointEverySeconds
            self.maxBatch = maxBatch
        }
    }

    private let configuration: Configuration
    private let database: DatabaseQueue
    private let signer: NoteSigner
    private let logger: Logger
    private var tree = MerkleTree()
    private var queue = GroupCommitQueue()
    private(set) var lastCheckpointSize: UInt64 = 0
    private(set) var lastCheckpointTime = ContinuousClock.now
    private var latestCheckpoint: [UInt8]?

    /// The log's origin: the signing key's name.
    public nonisolated var origin: String { self.signer.name }
    /// The verifier key regulators use.
    public nonisolated var verifier: NoteVerifier { self.signer.verifier }

    /// Opens (or creates) the log and checks it against its last checkpoint.
    /// - Throws: `AuditError` `.storage` when SQLite fails, `.inconsistent` when the stored
    ///   records do not produce the root of the last signed checkpoint.
    public init(configuration: Configuration, signer: NoteSigner, logger: Logger) async throws {
        self.configuration = configuration
        self.signer = signer
        self.logger = logger
        var config = GRDB.Configuration()
        config.journalMode = .wal
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            let parent = (configuration.path as NSString).deletingLastPathComponent
            if !parent.isEmpty {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            }
            self.database = try DatabaseQueue(path: configuration.path, configuration: config)
            try await self.database.write { db in
                try db.execute(
                    sql: """
                        CREATE TABLE IF NOT EXISTS entries (
                            idx INTEGER PRIMARY KEY, record BLOB NOT NULL,
                            tenant TEXT NOT NULL, day INTEGER NOT NULL, event INTEGER NOT NULL, decision TEXT NOT NULL);
                        CREATE TABLE IF NOT EXISTS subject_index (hmac BLOB NOT NULL, idx INTEGER NOT NULL);
                        CREATE INDEX IF NOT EXISTS subject_index_hmac ON subject_index(hmac);
                        CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note BLOB NOT NULL);
                        """
                )
            }
        } catch {
            throw AuditError(.storage, "cannot open the audit log at \(configuration.path): \(error)")
        }
        try await self.rebuild()
    }

    /// Rebuilds the tree from the stored records and checks the last checkpoint.
    private func rebuild() async throws {
        let (records, checkpoint) = try await self.read { db -> ([[UInt8]], [UInt8]?) in
            let rows = try Row.fetchAll(db, sql: "SELECT idx, record FROM entries ORDER BY idx")
            var records: [[UInt8]] = []
            records.reserveCapacity(rows.count)
            for (position, row) in rows.enumerated() {
                guard (row["idx"] as Int64) == Int64(position) else {
                    throw AuditError(.inconsistent, "entry \(position) is missing from the audit log")
                }
                records.append(Array(row["record"] as Data))
            }
            let note = try Data.fetchOne(db, sql: "SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1").map {
                Array($0)
            }
            return (records, note)
        }
        var tree = MerkleTree()
        for record in records { tree.append(leafHash: MerkleHash.leaf(record)) }
        if let note = checkpoint {
            let signed = try Checkpoint.open(note, verifier: self.signer.verifier)
            guard signed.size <= tree.size, tree.root(size: signed.size) == signed.rootHash else {
                throw AuditError(
                    .inconsistent,
                    "the stored records do not match the last signed checkpoint (size \(signed.size))"
                )
            }
            self.lastCheckpointSize = signed.size
            self.latestCheckpoint = note
        }
        self.tree = tree
        self.logger.info(
            "audit log open",
            metadata: ["entries": "\(tree.size)", "checkpoint": "\(self.lastCheckpointSize)"]
        )
    }

    // MARK: Appending

    /// Appends a record and returns once it is durable.
    /// - Throws: `AuditError` `.malformedRecord` or `.storage`; nothing was logged then.
    public func append(_ record: AuditRecord) async throws -> AuditReceipt {
        let bytes = try record.encoded()
        return try await withCheckedThrowingContinuation { continuation in
            if self.queue.enqueue(bytes, record, continuation) { Task { await self.drain() } }
        }
    }

    private func drain() async {
        while let batch = self.queue.nextBatch(limit: self.configuration.maxBatch) {
            let first = self.tree.size
            let rows = batch.enumerated().map { offset, item in
                (Int64(first) + Int64(offset), item.bytes, item.record)
            }
            do {
                try await self.database.write { db in
                    for (index, bytes, record) in rows {
                        try db.execute(
                            sql:
                                "INSERT INTO entries (idx, record, tenant, day, event, decision) VALUES (?, ?, ?, ?, ?, ?)",
                            arguments: [
                                index, Data(bytes), record.tenant, Int64(record.time / 86400),
                                Int(record.event.rawValue), record.decision?.rawValue ?? "",
                            ]
                        )
                        for identifier in record.identifiers {
                            try db.execute(
                                sql: "INSERT INTO subject_index (hmac, idx) VALUES (?, ?)",
                                arguments: [Data(identifier.hmac), index]
                            )
                        }
                    }
                }
            } catch {
                self.logger.error("audit append failed", metadata: ["records": "\(batch.count)", "error": "\(error)"])
                GroupCommitQueue.finish(
                    batch,
                    with: .failure(AuditError(.storage, "the audit log could not record the decision"))
                )
                continue
            }
            let receipts = batch.map { item in
                let hash = MerkleHash.leaf(item.bytes)
                let index = self.tree.size
                self.tree.append(leafHash: hash)
                return AuditReceipt(leafIndex: index, leafHash: hash)
            }
            GroupCommitQueue.finish(batch, with: .success(receipts))
            await self.checkpointIfDue()
        }
    }

    // MARK: Checkpoints

    /// Signs and stores a checkpoint when enough entries or time have passed.
    public func checkpointIfDue() async {
        let due = self.currentState.checkpointDue(
            everyEntries: self.configuration.checkpointEveryEntries,
            everySeconds: self.configuration.checkpointEverySeconds
        )
        if due { _ = try? await self.checkpoint() }
    }

    /// Signs and stores a checkpoint of the current size (or returns the latest if nothing new).
    /// - Returns: The signed checkpoint note.
    @discardableResult
    public func checkpoint() async throws -> [UInt8] {
        let size = self.tree.size
        if size == self.lastCheckpointSize, let latest = self.latestCheckpoint { return latest }
        // Never sign a checkpoint that is not an extension of the last one.
        if self.lastCheckpointSize > 0 {
            let proof = self.tree.consistencyProof(from: self.lastCheckpointSize, to: size)
            guard
                MerkleProofVerifier.verifyConsistency(
                    size1: self.lastCheckpointSize,
                    size2: size,
                    root1: self.tree.root(size: self.lastCheckpointSize),
                    root2: self.tree.root(size: size),
                    proof: proof
                )
            else { throw AuditError(.inconsistent, "refusing to sign an inconsistent checkpoint") }
        }
        let note = try Checkpoint(origin: self.signer.name, size: size, rootHash: self.tree.root(size: size)).signed(
            by: self.signer
        )
        try await self.database.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO checkpoints (size, note) VALUES (?, ?)",
                arguments: [Int64(size), Data(note)]
            )
        }
        self.lastCheckpointSize = size
        self.lastCheckpointTime = ContinuousClock.now
        self.latestCheckpoint = note
        return note
    }

    /// The latest signed checkpoint, signing one first if entries arrived since.
    public func latestSignedCheckpoint() async throws -> [UInt8] {
        try await self.checkpoint()
    }

    /// Waits for pending appends and signs a final checkpoint (graceful shutdown).
    public func close() async {
        while !self.queue.isIdle { try? await Task.sleep(for: .milliseconds(5)) }
        _ = try? await self.checkpoint()
    }

    // MARK: Reading

    /// Entries in the log.
    public var size: UInt64 { self.tree.size }

    /// The canonical bytes of entries `start..<end` (at most 1000).
    public func entries(from start: UInt64, to end: UInt64) async throws -> [[UInt8]] {
        guard start <= end, end <= self.tree.size, end - start <= 1000 else {
            throw AuditError(.inconsistent, "entry range outside the log or over 1000 entries")
        }
        return try await self.read { db in
            try Data.fetchAll(
                db,
                sql: "SELECT record FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx",
                arguments: [Int64(start), Int64(end)]
            )
            .map { Array($0) }
        }
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries.
    public func inclusionProof(index: UInt64, size: UInt64) throws -> [[UInt8]] {
        guard index < size, size <= self.tree.size else {
            throw AuditError(.inconsistent, "index or size outside the log")
        }
        return self.tree.inclusionProof(index: index, size: size)
    }

    /// The consistency proof between two sizes.
    public func consistencyProof(from: UInt64, to: UInt64) throws -> [[UInt8]] {
        guard from <= to, to <= self.tree.size else { throw AuditError(.inconsistent, "sizes outside the log") }
        return self.tree.consistencyProof(from: from, to: to)
    }

    /// Indices of entries carrying any of these identifier HMACs.
    public func entries(matching hmacs: [[UInt8]]) async throws -> [UInt64] {
        guard !hmacs.isEmpty else { return [] }
        return try await self.read { db in
            let marks = Array(repeating: "?", count: hmacs.count).joined(separator: ",")
            return try Int64.fetchAll(
                db,
                sql: "SELECT DISTINCT idx FROM subject_index WHERE hmac IN (\(marks)) ORDER BY idx",
                arguments: StatementArguments(hmacs.map { Data($0) })
            ).map { UInt64($0) }
        }
    }

    /// Counts of entries by tenant, event, decision and day (days since 1970, UTC).
    public struct StatsRow: Sendable, Hashable {
        public let tenant: String
        public let event: AuditRecord.Event
        public let decision: String
        public let day: Int64
        public let count: Int64

        /// Creates a row.
        public init(tenant: String, event: AuditRecord.Event, decision: String, day: Int64, count: Int64) {
            self.tenant = tenant
            self.event = event
            self.decision = decision
            self.day = day
            self.count = count
        }
    }

    /// Counts by tenant, event, decision and day.
    public func stats() async throws -> [StatsRow] {
        try await self.read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT tenant, event, decision, day, COUNT(*) AS n FROM entries GROUP BY tenant, event, decision, day ORDER BY day, tenant, event, decision"
            )
            .compactMap { row in
                AuditRecord.Event(rawValue: UInt8(row["event"] as Int)).map {
                    StatsRow(
                        tenant: row["tenant"],
                        event: $0,
                        decision: row["decision"],
                        day: row["day"],
                        count: row["n"]
                    )
                }
            }
        }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await self.database.read(body)
        } catch let error as AuditError {
            throw error
        } catch {
            throw AuditError(.storage, "audit log read failed: \(error)")
        }
    }
}

/// A log in the same process can feed a regulator's bundle directly (replicas, tests).
extension AuditLog: AuditLogSource {}
