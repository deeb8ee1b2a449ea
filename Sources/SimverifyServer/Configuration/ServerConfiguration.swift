import Foundation
import SimverifyCore

/// Everything the server is configured with: one JSON file (see `simverify.example.json`) plus
/// command-line flags. Every field has a default that runs on a laptop.
public struct ServerConfiguration: Sendable, Codable, Hashable {
    /// Address to listen on.
    public var host: String = "127.0.0.1"
    /// Port to listen on; 0 picks a free one (tests).
    public var port: Int = 7443
    /// Certificate files.
    public var tls: TLSFiles = TLSFiles()
    /// Connection and call limits.
    public var limits: ConnectionLimits = ConnectionLimits()
    /// The face engine.
    public var engine: EngineSettings = EngineSettings()
    /// The decision rules.
    public var policy: MatchPolicy = .standard
    /// The audit log.
    public var audit: AuditSettings = AuditSettings()
    /// The operators' metrics listener.
    public var metrics: MetricsSettings = MetricsSettings()
    /// Where the audit log and the session store live.
    public var storage: StorageSettings = StorageSettings()
    /// trace, debug, info, notice, warning, error or critical.
    public var logLevel: String = "info"

    /// Creates the defaults.
    public init() {}

    /// PEM files for mutual TLS.
    public struct TLSFiles: Sendable, Codable, Hashable {
        /// The server's certificate chain.
        public var certificate: String = "certs/generated/server.pem"
        /// The server's private key.
        public var privateKey: String = "certs/generated/server-key.pem"
        /// The CA that issues client certificates; clients without one it issued are refused.
        public var clientCA: String = "certs/generated/ca.pem"
        public init() {}
    }

    /// Limits that keep one caller from costing another its answer.
    public struct ConnectionLimits: Sendable, Codable, Hashable {
        /// Open connections in total; more are closed at accept.
        public var maxConnections: Int = 1024
        /// Calls in flight on one connection; more get RESOURCE_EXHAUSTED.
        public var maxConcurrentCallsPerConnection: Int = 16
        /// A TLS handshake not finished in this time closes the connection.
        public var handshakeTimeoutSeconds: Double = 10
        /// A connection with no call and no traffic for this long gets a goaway.
        public var idleTimeoutSeconds: Double = 300
        /// A frame begun must be complete within this time plus its length at the minimum rate.
        public var frameTimeoutSeconds: Double = 10
        /// The slowest upload accepted for a frame's payload, bytes per second.
        public var minimumBytesPerSecond: Int = 64 * 1024
        /// Deadline of a call that sets none.
        public var defaultDeadlineMilliseconds: Int = 30_000
        /// Longest deadline a call may ask for.
        public var maxDeadlineMilliseconds: Int = 120_000
        /// On shutdown, in-flight calls get this long to finish.
        public var drainSeconds: Double = 30
        /// Connections one client certificate may hold open at once.
        public var maxConnectionsPerCertificate: Int = 8
        /// Verify and ExtractTemplate calls a second per tenant, sustained (token bucket; 0: off).
        public var tenantCallsPerSecond: Double = 50
        /// Calls a tenant may burst above its rate.
        public var tenantBurst: Double = 100
        /// Verify and ExtractTemplate calls a second per terminal (per certificate for backends).
        public var terminalCallsPerSecond: Double = 2
        /// Calls a terminal may burst above its rate.
        public var terminalBurst: Double = 10
        /// CheckFrame calls a second per terminal (per certificate for backends): a bucket of
        /// their own, so that preview checks never spend the tokens a Verify needs (0: off).
        public var previewCallsPerSecond: Double = 4
        /// CheckFrame calls a terminal may burst above its rate.
        public var previewBurst: Double = 8
        /// Replicas behind one load balancer sharing the tenant limits: each enforces this share
        /// (1/replicas) of `tenantCallsPerSecond` and `tenantBurst`, so that N replicas together
        /// admit what one would. A terminal's limit is not divided: its connection, and so its
        /// calls, stay on one replica (docs/SCALING.md).
        public var replicas: Int = 1
        public init() {}
    }

    /// The audit log's files and checkpoint cadence.
    public struct AuditSettings: Sendable, Codable, Hashable {
        /// The SQLite database of the log.
        public var databasePath: String = ".data/audit.sqlite"
        /// The key file: checkpoint signing keys, identifier HMAC keys, template and session keys (see `AuditKeys`).
        public var keysPath: String = ".data/audit-keys.json"
        /// The SQLite database of liveness sessions' single-use state.
        public var sessionDatabasePath: String = ".data/sessions.sqlite"
        /// A checkpoint at least every this many entries.
        public var checkpointEveryEntries: Int = 1000
        /// A checkpoint at least every this many seconds while entries arrive.
        public var checkpointEverySeconds: Double = 10
        public init() {}
    }

    /// Where shared state lives: the embedded SQLite files (one replica, the default) or one
    /// PostgreSQL database that every replica behind a balancer shares (docs/SCALING.md).
    public struct StorageSettings: Sendable, Codable, Hashable {
        /// "sqlite" (`audit.databasePath`, `audit.sessionDatabasePath`) or "postgres".
        public var kind: String = "sqlite"
        /// For kind "postgres": `postgres://USER@HOST:PORT/DATABASE`. A password, when the server
        /// needs one, comes from the environment (`PGPASSWORD`), never from this file.
        public var postgresURL: String?
        public init() {}
    }

    /// The operator listener: Prometheus metrics over plain HTTP, or mutual TLS for the operator
    /// role. Its labels carry no tenant, terminal or identifier, but plain HTTP stays on loopback
    /// (or a management network) all the same.
    public struct MetricsSettings: Sendable, Codable, Hashable {
        /// Whether the listener runs.
        public var enabled: Bool = true
        /// Address to listen on.
        public var host: String = "127.0.0.1"
        /// Port to listen on; 0 picks a free one (tests).
        public var port: Int = 9464
        /// HTTPS with the server's certificate (`tls.certificate`, `tls.privateKey`), a client
        /// certificate from `tls.clientCA` required, and only the operator role answered: for a
        /// listener off loopback. Plain HTTP when false.
        public var mutualTLS: Bool = false
        public init() {}
    }

    /// The face engine's settings.
    public struct EngineSettings: Sendable, Codable, Hashable {
        /// The face model: "sface" (YuNet + SFace, the default), "dlib", or "onnx" (YuNet and an
        /// operator's recogniser, which `modelDescriptor` describes). The policy must name the same.
        public var model: FaceModel = .sface
        /// The operator's model descriptor (JSON; see `FaceModelDescriptor`), for model "onnx".
        public var modelDescriptor: String?
        /// Worker threads; nil means the number of cores.
        public var workers: Int?
        /// Face jobs that may wait; more get RESOURCE_EXHAUSTED at once.
        public var maxQueuedJobs: Int = 32
        /// Model directory; nil means `$SIMVERIFY_MODELS` or `~/.cache/simverify/models`.
        public var modelDirectory: String?
        public init() {}
    }

    /// Reads a configuration file. Fields it leaves out keep their defaults; an unknown field is
    /// an error (a misspelt limit must not silently fall back to its default).
    /// - Throws: `SimverifyError` naming the file and the problem.
    public static func load(from path: String) throws -> ServerConfiguration {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SimverifyError(.fileUnreadable, "cannot read configuration \(path)")
        }
        do {
            let defaults = try JSONSerialization.jsonObject(with: JSONEncoder().encode(ServerConfiguration()))
            let given = try JSONSerialization.jsonObject(with: data)
            let merged = try Self.merge(given, over: defaults, path: "")
            return try JSONDecoder().decode(
                ServerConfiguration.self,
                from: JSONSerialization.data(withJSONObject: merged)
            )
        } catch let error as SimverifyError {
            throw SimverifyError(error.code, "configuration \(path): \(error.message)")
        } catch {
            throw SimverifyError(.invalidArgument, "configuration \(path) is not valid JSON of the expected shape")
        }
    }

    private static func merge(_ given: Any, over defaults: Any, path: String) throws -> Any {
        guard let defaultObject = defaults as? [String: Any] else { return given }
        guard let givenObject = given as? [String: Any] else {
            throw SimverifyError(.invalidArgument, "\(path.isEmpty ? "the top level" : path) must be an object")
        }
        var merged = defaultObject
        for (key, value) in givenObject {
            let keyPath = path.isEmpty ? key : path + "." + key
            guard let base = defaultObject[key] else {
                // Optional fields absent from the encoded defaults.
                guard Self.optionalKeys.contains(keyPath) else {
                    throw SimverifyError(.invalidArgument, "unknown field \(keyPath)")
                }
                merged[key] = value
                continue
            }
            merged[key] = try Self.merge(value, over: base, path: keyPath)
        }
        return merged
    }

    private static let optionalKeys: Set<String> = [
        "engine.workers", "engine.modelDirectory", "engine.modelDescriptor", "storage.postgresURL",
    ]
}
