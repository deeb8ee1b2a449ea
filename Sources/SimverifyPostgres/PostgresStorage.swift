import Foundation
import Logging
import PostgresNIO
import SimverifyCore

/// One PostgreSQL database shared by every replica: its connection pool and its schema.
///
/// The pool (`PostgresClient`) must run (`client.run()`) while the stores are used: `serve` runs it
/// in its service group before the log, so that it stops after the log's final checkpoint.
public struct PostgresStorage: Sendable {
    /// The connection pool.
    public let client: PostgresClient
    let logger: Logger

    /// Advisory-lock keys (one namespace per database): the schema's creation, the log's appends,
    /// the checkpoint signer.
    enum Lock {
        static let schema: Int64 = 0x5356_0001
        static let log: Int64 = 0x5356_0002
        static let signer: Int64 = 0x5356_0003
    }

    /// A pool for `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`); a password absent
    /// from the URL is read from `PGPASSWORD`. Loopback and Unix-socket use need no TLS; any other
    /// host requires it.
    /// - Throws: `SimverifyError` `.invalidArgument` for a URL that is not of that form (the
    ///   message never repeats a password).
    public init(url: String, logger: Logger, maximumConnections: Int = 20) throws {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme),
            let host = components.host, !host.isEmpty, let user = components.user, !user.isEmpty
        else {
            throw SimverifyError(
                .invalidArgument,
                "storage.postgresURL must be postgres://USER@HOST:PORT/DATABASE"
            )
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let password = components.password ?? ProcessInfo.processInfo.environment["PGPASSWORD"]
        let loopback = ["127.0.0.1", "::1", "localhost"].contains(host)
        var configuration = PostgresClient.Configuration(
            host: host,
            port: components.port ?? 5432,
            username: user,
            password: password,
            database: database.isEmpty ? user : database,
            tls: loopback ? .disable : .require(.makeClientConfiguration())
        )
        configuration.options.maximumConnections = maximumConnections
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
    }

    /// Creates the tables both stores use, once, whichever replica comes first.
    public func createSchema() async throws {
        try await self.client.withTransaction(logger: self.logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Lock.schema))", logger: self.logger)
            for statement in Self.schema {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
            }
        }
    }

    static let schema = [
        """
        CREATE TABLE IF NOT EXISTS audit_entries (
            idx BIGINT PRIMARY KEY, record BYTEA NOT NULL,
            tenant TEXT NOT NULL, day BIGINT NOT NULL, event INTEGER NOT NULL, decision TEXT NOT NULL)
        """,
        "CREATE TABLE IF NOT EXISTS audit_subject_index (hmac BYTEA NOT NULL, idx BIGINT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS audit_subject_index_hmac ON audit_subject_index (hmac)",
        "CREATE TABLE IF NOT EXISTS audit_checkpoints (size BIGINT PRIMARY KEY, note BYTEA NOT NULL)",
        // One row: the log's size. Appends move it under the log's advisory lock.
        "CREATE TABLE IF NOT EXISTS audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), size BIGINT NOT NULL)",
        "INSERT INTO audit_head (id, size) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
        """
        CREATE TABLE IF NOT EXISTS sessions (
            nonce BYTEA PRIMARY KEY, expires_at BIGINT NOT NULL, attempts INTEGER NOT NULL, closed BOOLEAN NOT NULL)
        """,
        "CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at)",
    ]
}
