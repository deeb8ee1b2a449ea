import CoreMetrics
import Metrics
import Prometheus
import SimverifyAuditLog
import SimverifyCore
import SimverifyFaceEngine

/// What the service tells operators, through swift-metrics (Prometheus on the operator listener
/// in `simverify serve`). Labels carry only the service's own vocabulary (decisions, reasons,
/// checks, stages, limits, methods): never a tenant, terminal, identifier or image figure.
public struct ServiceMetrics: Sendable {
    let factory: any MetricsFactory

    /// Metrics made by `factory` (a `PrometheusMetricsFactory` in the server).
    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    /// No metrics.
    public static let none = ServiceMetrics(factory: NOOPMetricsHandler.instance)

    /// Metrics kept in a Prometheus registry of their own (the operator listener serves it).
    public static func prometheus() -> (ServiceMetrics, PrometheusCollectorRegistry) {
        let registry = PrometheusCollectorRegistry()
        return (ServiceMetrics(factory: PrometheusMetricsFactory(registry: registry)), registry)
    }

    /// A decision answered (its record is in the log): counted by decision, by decision and
    /// reason, and a liveness refusal by the check that refused it.
    func decided(_ decision: Decision, reasons: [ReasonCode]) {
        Counter(
            label: "simverify_decisions_total",
            dimensions: [("decision", decision.rawValue)],
            factory: self.factory
        )
        .increment()
        for reason in reasons {
            Counter(
                label: "simverify_decision_reasons_total",
                dimensions: [("decision", decision.rawValue), ("reason", reason.rawValue)],
                factory: self.factory
            ).increment()
            guard decision == .livenessFailed else { continue }
            Counter(
                label: "simverify_liveness_refusals_total",
                dimensions: [("check", reason.rawValue)],
                factory: self.factory
            )
            .increment()
        }
    }

    /// Time spent in one stage of a call: decode, detect, landmarks, embed (the engine's own
    /// figures), liveness (the checks), audit_append (until the record is committed).
    func stage(_ stage: String, _ duration: Duration) {
        guard duration > .zero else { return }
        Timer(label: "simverify_stage_duration_seconds", dimensions: [("stage", stage)], factory: self.factory)
            .record(duration: duration)
    }

    /// The engine's stages of an analysis.
    func stages(_ timings: StageTimings) {
        self.stage("decode", timings.decode)
        self.stage("detect", timings.detect)
        self.stage("landmarks", timings.landmarks)
        self.stage("embed", timings.embed)
    }

    /// A call refused by a limit: `rate:tenant`, `rate:terminal`, `overloaded` (the engine's
    /// queue), `too_many_calls`, `too_many_connections`, `max_connections`.
    public func limited(_ limit: String) {
        Counter(label: "simverify_limit_refusals_total", dimensions: [("limit", limit)], factory: self.factory)
            .increment()
    }

    /// A call answered, by method and status (`ok` or the status code's name), with its time.
    public func called(_ method: String, status: String, duration: Duration) {
        Counter(
            label: "simverify_calls_total",
            dimensions: [("method", method), ("status", status)],
            factory: self.factory
        ).increment()
        Timer(label: "simverify_call_duration_seconds", dimensions: [("method", method)], factory: self.factory)
            .record(duration: duration)
    }

    /// A connection that never became a caller: `tls` (the handshake failed), `timeout` (not
    /// finished in time), `identity` (a certificate that names no simverify identity).
    public func handshakeFailed(_ reason: String) {
        Counter(label: "simverify_handshake_failures_total", dimensions: [("reason", reason)], factory: self.factory)
            .increment()
    }

    /// The face engine's jobs running and waiting now.
    func engineLoad(busy: Int, waiting: Int) {
        Gauge(label: "simverify_engine_jobs", dimensions: [("state", "busy")], factory: self.factory)
            .record(busy)
        Gauge(label: "simverify_engine_jobs", dimensions: [("state", "waiting")], factory: self.factory)
            .record(waiting)
    }

    /// The audit log's size, the size its last signed checkpoint covers, and that checkpoint's age.
    func auditLog(_ state: AuditLogState) {
        Gauge(label: "simverify_audit_log_entries", factory: self.factory).record(Int64(clamping: state.entries))
        Gauge(label: "simverify_audit_checkpoint_entries", factory: self.factory)
            .record(Int64(clamping: state.checkpointEntries))
        Gauge(label: "simverify_audit_checkpoint_age_seconds", factory: self.factory)
            .record(state.secondsSinceCheckpoint)
    }
}
