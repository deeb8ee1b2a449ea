import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SimverifyAudit
import SimverifyAuditLog
import SimverifyCommandSupport
import SimverifyCore
import SimverifyFaceEngine
import SimverifyHardening
import SimverifyPostgres
import SimverifyServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the mutual-TLS verification server.",
        discussion: """
            Reads --config (JSON; see simverify.example.json) if given; flags override it. Stops
            gracefully on SIGTERM or SIGINT: no new calls, in-flight calls finish, then exit.
            """
    )

    @Option(help: "Configuration file (JSON).") var config: String?
    @Option(help: "Address to listen on.") var host: String?
    @Option(help: "Port to listen on.") var port: Int?
    @Option(help: "Face worker threads.") var workers: Int?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String?

    func run() async throws {
        var configuration: ServerConfiguration
        do {
            configuration = try config.map(ServerConfiguration.load(from:)) ?? ServerConfiguration()
        } catch {
            reportAndExit(error)
        }
        if let host { configuration.host = host }
        if let port { configuration.port = port }
        if let workers { configuration.engine.workers = workers }
        if let logLevel { configuration.logLevel = logLevel }
        let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "simverify")
        // Before any image can arrive: no core dumps, scrubbed frees, locked image buffers.
        ProcessHardening.apply(logger: logger)

        do {
            guard configuration.policy.model == configuration.engine.model else {
                throw SimverifyError(
                    .invalidArgument,
                    "policy \(configuration.policy.version) was set for the \(configuration.policy.model) model but engine.model is \(configuration.engine.model): set policy.model and a threshold calibrated for it"
                )
            }
            guard (1...32).contains(configuration.policy.matchFrames) else {
                throw SimverifyError(
                    .invalidArgument,
                    "policy.matchFrames is 1 (the most frontal frame alone) to 32, not \(configuration.policy.matchFrames)"
                )
            }
            guard (0.0..<1.0).contains(configuration.policy.idCardGhostShare) else {
                throw SimverifyError(
                    .invalidArgument,
                    "policy.idCardGhostShare is a share of the portrait's width from 0 to under 1, not \(configuration.policy.idCardGhostShare)"
                )
            }
            var engineConfiguration = FaceEngineConfiguration(model: configuration.engine.model)
            if configuration.engine.model == .onnx {
                guard let path = configuration.engine.modelDescriptor else {
                    throw SimverifyError(
                        .invalidArgument,
                        "engine.model onnx needs engine.modelDescriptor: the operator's model descriptor"
                    )
                }
                engineConfiguration.descriptor = try FaceModelDescriptor.load(from: path)
            }
            if let workers = configuration.engine.workers { engineConfiguration.workers = workers }
            engineConfiguration.maxQueuedJobs = configuration.engine.maxQueuedJobs
            if let directory = configuration.engine.modelDirectory {
                engineConfiguration.models = FaceModelFiles(directory: directory)
            }
            let keys = try AuditKeys(contentsOf: configuration.audit.keysPath)
            let stores = try await Stores.open(configuration, signer: keys.signer, logger: logger)
            let auditLog = stores.log
            // From here the log is open: a start-up failure still closes it (the final checkpoint
            // signs what an earlier run left unsigned), and so does any end of the group.
            let server: RPCServer
            let engine: FaceEngine
            let (metrics, registry) = ServiceMetrics.prometheus()
            var operatorServices: [ServiceGroupConfiguration.ServiceConfiguration] = []
            do {
                engine = try FaceEngine(configuration: engineConfiguration, logger: logger)
                let service = VerificationService(
                    engine: engine,
                    policy: configuration.policy,
                    audit: AuditTrail(
                        log: auditLog,
                        keys: keys,
                        secrets: try ServerSecrets(contentsOf: configuration.audit.keysPath)
                    ),
                    sessions: try stores.sessions(),
                    limits: try .init(configuration.limits),
                    logger: logger,
                    metrics: metrics
                )
                server = try RPCServer(configuration: configuration, service: service, logger: logger)
                if configuration.metrics.enabled {
                    let listener = try OperatorServer(
                        host: configuration.metrics.host,
                        port: configuration.metrics.port,
                        registry: registry,
                        logger: logger,
                        mutualTLS: configuration.metrics.mutualTLS ? configuration.tls : nil
                    ) { await service.refreshGauges() }
                    operatorServices.append(
                        .init(service: listener, failureTerminationBehavior: .gracefullyShutdownGroup)
                    )
                }
            } catch {
                await auditLog.close()
                throw error
            }
            // Stopped in reverse order: the server drains (every call in flight answered), then
            // the log signs its final checkpoint, then the engine's workers stop.
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: [
                        .init(service: FaceEngineService(engine))
                    ] + stores.services + [.init(service: AuditLogService(auditLog)), .init(service: server)]
                        + operatorServices,
                    // A service that fails (the operator port taken) drains the others: the server
                    // answers what it holds, the log signs, then serve exits with the error.
                    gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger
                )
            )
            try await group.run()
        } catch {
            reportAndExit(error)
        }
    }
}

/// The audit log and the session store the configuration chooses: the embedded SQLite files (one
/// replica) or one PostgreSQL database shared by every replica.
struct Stores {
    let log: any AuditStore
    let sessions: () throws -> any SessionStore
    /// What must run beside them (PostgreSQL's connection pool), stopped after the log.
    let services: [ServiceGroupConfiguration.ServiceConfiguration]

    static func open(_ configuration: ServerConfiguration, signer: NoteSigner, logger: Logger) async throws -> Stores {
        let audit = configuration.audit
        switch configuration.storage.kind {
        case "sqlite":
            let log = try await AuditLog(
                configuration: .init(
                    path: audit.databasePath,
                    checkpointEveryEntries: UInt64(max(1, audit.checkpointEveryEntries)),
                    checkpointEverySeconds: audit.checkpointEverySeconds
                ),
                signer: signer,
                logger: logger
            )
            return Stores(log: log, sessions: { try SQLiteSessionStore(path: audit.sessionDatabasePath) }, services: [])
        case "postgres":
            guard let url = configuration.storage.postgresURL else {
                throw SimverifyError(.invalidArgument, "storage.kind postgres needs storage.postgresURL")
            }
            let database = try PostgresStorage(url: url, logger: logger)
            // The pool must run while the log opens: it runs in the group once that starts, and
            // in a task of its own until then.
            let opening = Task { await database.client.run() }
            let log: PostgresAuditLog
            do {
                log = try await PostgresAuditLog(
                    database: database,
                    signer: signer,
                    configuration: .init(
                        checkpointEveryEntries: UInt64(max(1, audit.checkpointEveryEntries)),
                        checkpointEverySeconds: audit.checkpointEverySeconds
                    ),
                    logger: logger
                )
            } catch {
                opening.cancel()
                throw error
            }
            return Stores(
                log: log,
                sessions: { PostgresSessionStore(database: database) },
                services: [.init(service: PoolTask(task: opening))]
            )
        default:
            throw SimverifyError(
                .invalidArgument,
                "storage.kind is sqlite or postgres, not \(configuration.storage.kind)"
            )
        }
    }
}

/// The pool's task as a Service: it runs until the group, having stopped the log, stops it.
struct PoolTask: Service {
    let task: Task<Void, Never>

    func run() async throws {
        try? await gracefulShutdown()
        self.task.cancel()
        await self.task.value
    }
}
