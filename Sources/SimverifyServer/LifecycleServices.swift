import ServiceLifecycle
import SimverifyAuditLog
import SimverifyFaceEngine

/// The audit log as a Service of the server's one ServiceGroup: it runs until the group shuts
/// down, then writes the final checkpoint. Listed before the RPC server, it is shut down after it
/// (ServiceGroup stops services in reverse order), so every answered call's record is signed.
/// However the group ends (a signal, a service that fails), the checkpoint is written.
public struct AuditLogService: Service {
    let log: any AuditStore

    /// Wraps the log.
    public init(_ log: any AuditStore) {
        self.log = log
    }

    public func run() async throws {
        // Returns when the group shuts down gracefully, throws when it is cancelled: either way
        // the log is closed.
        try? await gracefulShutdown()
        await self.log.close()
    }
}

/// The face engine as a Service: stops its workers when the group shuts down. Listed first, it
/// is stopped last, after the server has drained and the log has signed.
public struct FaceEngineService: Service {
    let engine: any FaceAnalyzer

    /// Wraps the engine.
    public init(_ engine: any FaceAnalyzer) {
        self.engine = engine
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await self.engine.shutdown()
    }
}
