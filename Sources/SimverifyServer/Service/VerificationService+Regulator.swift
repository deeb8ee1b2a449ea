import SimverifyAudit
import SimverifyAuditLog
import SimverifyCore

/// The regulator's methods over the audit log: reads, and the look-up of a subject (itself
/// recorded).
extension VerificationService {
    /// The newest signed checkpoint (a C2SP signed note).
    public func checkpoint() async throws -> [UInt8] {
        try await Self.reading { try await self.audit.log.latestSignedCheckpoint() }
    }

    /// Canonical records `start..<end` (at most 1000).
    public func entries(from start: UInt64, to end: UInt64) async throws -> [[UInt8]] {
        try await Self.reading { try await self.audit.log.entries(from: start, to: end) }
    }

    /// RFC 6962 inclusion proof of leaf `index` in the tree of `size`.
    public func inclusionProof(index: UInt64, size: UInt64) async throws -> [[UInt8]] {
        try await Self.reading { try await self.audit.log.inclusionProof(index: index, size: size) }
    }

    /// RFC 6962 consistency proof between two tree sizes.
    public func consistencyProof(from: UInt64, to: UInt64) async throws -> [[UInt8]] {
        try await Self.reading { try await self.audit.log.consistencyProof(from: from, to: to) }
    }

    /// Record counts by tenant, event, decision and day.
    public func stats() async throws -> [AuditLog.StatsRow] {
        try await Self.reading { try await self.audit.log.stats() }
    }

    /// The leaves whose records carry this national ID, under any identifier key; the look-up
    /// itself is recorded, under the active key: regulators are audited too.
    public func lookupSubject(nationalID: String, caller: CallerIdentity) async throws -> SubjectLookup {
        try SubjectValidation.validate(SubjectReferences(nationalID: nationalID))
        guard !nationalID.isEmpty else {
            throw ServiceError(.invalidArgument, "national_id is required", reason: .nationalIDMissing)
        }
        let hashes = self.audit.identifiers.allHashes(nationalID, field: .nationalID)
        let matches = try await Self.reading { try await self.audit.log.entries(matching: hashes.map(\.hmac)) }
        let record = self.records.record(
            .regulatorLookup,
            caller: caller,
            identifiers: Array(hashes.suffix(1)),
            detail: "matches=\(matches.count)"
        )
        let receipt = try await self.record(record)
        return SubjectLookup(matches: matches, lookupLeafIndex: receipt.leafIndex)
    }

    /// Runs a read of the log, its errors said as the service's.
    private static func reading<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as AuditError {
            switch error.code {
            case .storage: throw ServiceError(.unavailable, "the audit log is unavailable", reason: .auditUnavailable)
            default:
                throw ServiceError(.outOfRange, error.message, reason: ServiceError.Reason(rawValue: "\(error.code)"))
            }
        }
    }
}

extension AuditRecord.Event {
    /// The name used in stats.
    public var name: String {
        switch self {
        case .verify: "verify"
        case .extractTemplate: "extract-template"
        case .sessionStart: "session-start"
        case .tokenFailure: "token-failure"
        case .regulatorLookup: "regulator-lookup"
        case .keyRotation: "key-rotation"
        case .limitExceeded: "limit-exceeded"
        case .undelivered: "undelivered"
        }
    }
}
