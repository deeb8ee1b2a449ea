import Foundation
import NIOCore
import SimverifyCore
import SimverifyProto
import SimverifyWire

/// One row of the regulator's statistics.
public struct AuditStatsRow: Sendable, Hashable, Codable {
    /// The tenant.
    public var tenant: String
    /// The event (verify, regulator-lookup, ...).
    public var event: String
    /// The decision, empty for events without one.
    public var decision: String
    /// Days since 1970-01-01 (UTC).
    public var day: Int64
    /// Entries.
    public var count: UInt64
}

/// The regulator's read-only calls (regulator certificates only).
extension SimverifyClient {
    /// The latest signed checkpoint note.
    public func checkpoint() async throws(SimverifyClientError) -> [UInt8] {
        let response: Simverify_V1_GetCheckpointResponse = try await self.call(
            .getCheckpoint,
            Simverify_V1_GetCheckpointRequest()
        )
        return Array(response.note)
    }

    /// Canonical bytes of entries [start, end), at most 1000.
    public func entries(from start: UInt64, to end: UInt64) async throws(SimverifyClientError) -> [[UInt8]] {
        var request = Simverify_V1_GetEntriesRequest()
        request.start = start
        request.end = end
        let response: Simverify_V1_GetEntriesResponse = try await self.call(.getEntries, request)
        return response.entries.map { Array($0) }
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries.
    public func inclusionProof(index: UInt64, size: UInt64) async throws(SimverifyClientError) -> [[UInt8]] {
        var request = Simverify_V1_GetInclusionProofRequest()
        request.leafIndex = index
        request.treeSize = size
        let response: Simverify_V1_ProofResponse = try await self.call(.getInclusionProof, request)
        return response.hashes.map { Array($0) }
    }

    /// The consistency proof between two sizes.
    public func consistencyProof(from: UInt64, to: UInt64) async throws(SimverifyClientError) -> [[UInt8]] {
        var request = Simverify_V1_GetConsistencyProofRequest()
        request.fromSize = from
        request.toSize = to
        let response: Simverify_V1_ProofResponse = try await self.call(.getConsistencyProof, request)
        return response.hashes.map { Array($0) }
    }

    /// Counts by tenant, event, decision and day.
    public func stats() async throws(SimverifyClientError) -> [AuditStatsRow] {
        let response: Simverify_V1_StatsResponse = try await self.call(.stats, Simverify_V1_StatsRequest())
        return response.rows.map {
            AuditStatsRow(tenant: $0.tenant, event: $0.event, decision: $0.decision, day: $0.day, count: $0.count)
        }
    }

    /// Indices of the entries of one subject, and the index of this look-up's own entry.
    public func lookupSubject(
        nationalID: String
    ) async throws(SimverifyClientError) -> (matches: [UInt64], lookupEntry: UInt64) {
        var request = Simverify_V1_LookupSubjectRequest()
        request.nationalID = nationalID
        let response: Simverify_V1_LookupSubjectResponse = try await self.call(.lookupSubject, request)
        return (response.leafIndices, response.lookupLeafIndex)
    }
}

/// An ID-card template sealed by the server for the caller's tenant.
public struct SealedTemplate: Sendable, Hashable {
    /// The sealed bytes: pass them as `VerificationRequest.sealedTemplate`.
    public var bytes: [UInt8]
    /// When it stops being accepted (Unix seconds).
    public var expiresAt: Int64
    /// The sealing key's id.
    public var keyID: String
}

extension SimverifyClient {
    /// Extracts and seals the ID card's face embedding (backend role). The server keeps nothing.
    /// - Throws: `SimverifyClientError` `.failedPrecondition` when the ID card has no, several or too small faces.
    public func extractTemplate(
        idCardImage: ZeroizingBuffer,
        deadline: Duration? = .seconds(30)
    ) async throws(SimverifyClientError) -> SealedTemplate {
        var request = Simverify_V1_ExtractTemplateRequest()
        request.idCardImage = idCardImage.withUnsafeBytes { Data($0) }
        let response: Simverify_V1_ExtractTemplateResponse = try await self.call(
            .extractTemplate,
            request,
            deadline: deadline
        )
        return SealedTemplate(
            bytes: Array(response.sealedTemplate),
            expiresAt: response.expiresAtUnix,
            keyID: response.keyID
        )
    }
}
