import SimverifyAudit
import SimverifyCore

/// What the verification service needs of a durable audit log: appending a record (answered only
/// once it is committed, DESIGN.md invariant 3) and the regulator's reads. `AuditLog` (SQLite) is
/// the embedded implementation; tests put a failing store in its place.
public protocol AuditStore: Sendable {
    /// Appends one record; returns once it is committed.
    func append(_ record: AuditRecord) async throws -> AuditReceipt
    /// The newest signed checkpoint (a C2SP signed note).
    func latestSignedCheckpoint() async throws -> [UInt8]
    /// Canonical records `start..<end`.
    func entries(from start: UInt64, to end: UInt64) async throws -> [[UInt8]]
    /// RFC 6962 inclusion proof of leaf `index` in the tree of `size`.
    func inclusionProof(index: UInt64, size: UInt64) async throws -> [[UInt8]]
    /// RFC 6962 consistency proof between two tree sizes.
    func consistencyProof(from: UInt64, to: UInt64) async throws -> [[UInt8]]
    /// Indices of the records carrying any of these identifier HMACs.
    func entries(matching hmacs: [[UInt8]]) async throws -> [UInt64]
    /// Record counts by tenant, event, decision and day.
    func stats() async throws -> [AuditLog.StatsRow]
    /// Its size and its last checkpoint's, for operators' metrics (nil: not known).
    func state() async -> AuditLogState?
    /// Waits for the appends in progress and signs a final checkpoint where this store signs
    /// (graceful shutdown).
    func close() async
}

extension AuditStore {
    public func state() async -> AuditLogState? { nil }
    public func close() async {}
}

/// Where a log stands, for operators.
public struct AuditLogState: Sendable, Hashable {
    /// Records in the log.
    public var entries: UInt64
    /// Records its last signed checkpoint covers.
    public var checkpointEntries: UInt64
    /// Seconds since that checkpoint was signed (or since the log opened).
    public var secondsSinceCheckpoint: Double

    /// Creates a state.
    public init(entries: UInt64, checkpointEntries: UInt64, secondsSinceCheckpoint: Double) {
        self.entries = entries
        self.checkpointEntries = checkpointEntries
        self.secondsSinceCheckpoint = secondsSinceCheckpoint
    }

    /// Whether a log in this state should sign a checkpoint: `everyEntries` entries since the
    /// last one, or any entry since it and `everySeconds` passed.
    public func checkpointDue(everyEntries: UInt64, everySeconds: Double) -> Bool {
        let unsigned = self.entries - min(self.entries, self.checkpointEntries)
        return unsigned >= everyEntries || (unsigned > 0 && self.secondsSinceCheckpoint >= everySeconds)
    }
}

extension AuditLog: AuditStore {
    public func state() async -> AuditLogState? { self.currentState }

    /// Where the log stands now.
    var currentState: AuditLogState {
        AuditLogState(
            entries: self.size,
            checkpointEntries: self.lastCheckpointSize,
            secondsSinceCheckpoint: (ContinuousClock.now - self.lastCheckpointTime).inSeconds
        )
    }
}
