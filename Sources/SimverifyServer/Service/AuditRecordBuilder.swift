import Foundation
import SimverifyAudit
import SimverifyCore

/// Builds every audit record the service appends: the one place that reads the clock and fills in
/// the caller, the policy's version and the face models' version (derived from the pinned model
/// files' SHA-256s, `FaceEngine.modelVersion`).
struct AuditRecordBuilder: Sendable {
    /// The service's clock (injected: tests set the time).
    let clock: @Sendable () -> Date
    /// `MatchPolicy.version`.
    let policyVersion: String
    /// `FaceEngine.modelVersion`: written into the records of events that ran the face models.
    let modelVersion: String

    /// The clock's time in whole seconds since 1970, as records and session tokens carry it.
    var now: UInt64 { UInt64(max(0, self.clock().timeIntervalSince1970)) }

    /// A record of `event` by `caller`, timed now unless `time` says otherwise.
    func record(
        _ event: AuditRecord.Event,
        caller: CallerIdentity,
        time: UInt64? = nil,
        decision: Decision? = nil,
        reasons: [ReasonCode] = [],
        distance: Double? = nil,
        images: [AuditRecord.ImageDigest] = [],
        identifiers: [AuditRecord.KeyedIdentifier] = [],
        detail: String = ""
    ) -> AuditRecord {
        let ranModels = event == .verify || event == .extractTemplate
        return AuditRecord(
            time: time ?? self.now,
            event: event,
            tenant: caller.tenant,
            terminal: caller.terminal ?? "",
            role: caller.role,
            decision: decision,
            reasons: reasons,
            distance: distance,
            policyVersion: self.policyVersion,
            modelVersion: ranModels ? self.modelVersion : "",
            images: images,
            identifiers: identifiers,
            detail: detail
        )
    }
}
