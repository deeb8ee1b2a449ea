import Foundation
import NIOCore
import SimverifyAudit
import SimverifyAuditLog
import SimverifyCore
import SimverifyProto
import SimverifyWire

/// The regulator's read-only methods over the audit log.
extension VerificationService {
    func regulator(method: MethodID, payload: ByteBuffer, caller: CallerIdentity) async throws -> ByteBuffer {
        let log = self.audit.log
        do {
            switch method {
            case .getCheckpoint:
                let _: Simverify_V1_GetCheckpointRequest = try Self.decode(payload)
                var response = Simverify_V1_GetCheckpointResponse()
                response.note = Data(try await log.latestSignedCheckpoint())
                return try Self.encode(response)
            case .getEntries:
                let request: Simverify_V1_GetEntriesRequest = try Self.decode(payload)
                var response = Simverify_V1_GetEntriesResponse()
                response.entries = try await log.entries(from: request.start, to: request.end).map { Data($0) }
                return try Self.encode(response)
            case .getInclusionProof:
                let request: Simverify_V1_GetInclusionProofRequest = try Self.decode(payload)
                var response = Simverify_V1_ProofResponse()
                response.hashes = try await log.inclusionProof(index: request.leafIndex, size: request.treeSize).map {
                    Data($0)
                }
                return try Self.encode(response)
            case .getConsistencyProof:
                let request: Simverify_V1_GetConsistencyProofRequest = try Self.decode(payload)
                var response = Simverify_V1_ProofResponse()
                response.hashes = try await log.consistencyProof(from: request.fromSize, to: request.toSize).map {
                    Data($0)
                }
                return try Self.encode(response)
            case .stats:
                let _: Simverify_V1_StatsRequest = try Self.decode(payload)
                var response = Simverify_V1_StatsResponse()
                response.rows = try await log.stats().map { row in
                    var out = Simverify_V1_StatsRow()
                    out.tenant = row.tenant
                    out.event = row.event.name
                    out.decision = row.decision
                    out.day = row.day
                    out.count = UInt64(row.count)
                    return out
                }
                return try Self.encode(response)
            case .lookupSubject:
                let request: Simverify_V1_LookupSubjectRequest = try Self.decode(payload)
                try SubjectValidation.validate(
                    Simverify_V1_SubjectReferences.with { $0.nationalID = request.nationalID }
                )
                guard !request.nationalID.isEmpty else {
                    throw RPCStatus(.invalidArgument, "national_id is required", reason: "national_id_missing")
                }
                let hashes = self.audit.identifiers.allHashes(request.nationalID, field: .nationalID)
                let matches = try await log.entries(matching: hashes.map(\.hmac))
                // The look-up itself is recorded, under the active key: regulators are audited too.
                let record = self.records.record(
                    .regulatorLookup,
                    caller: caller,
                    identifiers: Array(hashes.suffix(1)),
                    detail: "matches=\(matches.count)"
                )
                let receipt = try await self.record(record)
                var response = Simverify_V1_LookupSubjectResponse()
                response.leafIndices = matches
                response.lookupLeafIndex = receipt.leafIndex
                return try Self.encode(response)
            default:
                throw RPCStatus(.unimplemented, "unknown method", reason: "unknown_method")
            }
        } catch let error as AuditError {
            switch error.code {
            case .storage: throw RPCStatus(.unavailable, "the audit log is unavailable", reason: "audit_unavailable")
            default: throw RPCStatus(.outOfRange, error.message, reason: "\(error.code)")
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
