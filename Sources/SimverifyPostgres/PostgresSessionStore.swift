import Foundation
import Logging
import PostgresNIO
import SimverifyCore
import SimverifyServer

/// The session store in PostgreSQL, shared by every replica: a session started on one replica is
/// used on another, and attempts racing on several replicas are counted once each.
///
/// Each call applies one of the session rules' events (`SessionState`) in one transaction that
/// holds the session's row (`SELECT ... FOR UPDATE`): the first attempt inserts the row, so two
/// replicas admitting the same session at once queue on that row, and the second sees the first's
/// count.
public struct PostgresSessionStore: SessionStore {
    let database: PostgresStorage

    /// A store in `database` (its schema created: `PostgresStorage.createSchema`).
    public init(database: PostgresStorage) {
        self.database = database
    }

    public func admit(
        nonce: [UInt8],
        expiresAt: UInt64,
        allowed: Int,
        now: UInt64
    ) async throws -> SessionState.Admission {
        let purge = Int64(clamping: now) - 3600
        return try await self.update(nonce: nonce, expiresAt: expiresAt, create: true, purgeBefore: purge) {
            $0.admit(allowed: allowed)
        }
    }

    public func giveBack(nonce: [UInt8], expiresAt: UInt64) async throws {
        try await self.update(nonce: nonce, expiresAt: expiresAt, create: false) { $0.giveBack() }
    }

    @discardableResult
    public func recorded(_ decision: Decision, nonce: [UInt8], expiresAt: UInt64) async throws -> Bool {
        try await self.update(nonce: nonce, expiresAt: expiresAt, create: true) { $0.recorded(decision) }
    }

    public func state(nonce: [UInt8]) async throws -> SessionState? {
        let rows = try await self.database.client.query(
            "SELECT attempts, closed FROM sessions WHERE nonce = \(Data(nonce))",
            logger: self.database.logger
        )
        for try await (attempts, closed) in rows.decode((Int32, Bool).self) {
            return SessionState(attempts: Int(attempts), closed: closed)
        }
        return nil
    }

    /// Applies `event` to the session's row in one transaction. The caller's cancellation does
    /// not reach it: a transaction given up half way could spend or keep an attempt unseen.
    private func update<T: Sendable>(
        nonce: [UInt8],
        expiresAt: UInt64,
        create: Bool,
        purgeBefore purge: Int64? = nil,
        _ event: @escaping @Sendable (inout SessionState) -> T
    ) async throws -> T {
        let database = self.database
        let key = Data(nonce)
        let expiry = Int64(clamping: expiresAt)
        return try await Task {
            try await database.client.withTransaction(logger: database.logger) { connection in
                if let purge {
                    try await connection.query(
                        "DELETE FROM sessions WHERE expires_at < \(purge)",
                        logger: database.logger
                    )
                }
                if create {
                    try await connection.query(
                        """
                        INSERT INTO sessions (nonce, expires_at, attempts, closed) VALUES (\(key), \(expiry), 0, FALSE)
                        ON CONFLICT (nonce) DO NOTHING
                        """,
                        logger: database.logger
                    )
                }
                var before: SessionState?
                let rows = try await connection.query(
                    "SELECT attempts, closed FROM sessions WHERE nonce = \(key) FOR UPDATE",
                    logger: database.logger
                )
                for try await (attempts, closed) in rows.decode((Int32, Bool).self) {
                    before = SessionState(attempts: Int(attempts), closed: closed)
                }
                var state = before ?? SessionState()
                let result = event(&state)
                if before != nil, state != before {
                    try await connection.query(
                        """
                        UPDATE sessions SET attempts = \(Int32(clamping: state.attempts)), closed = \(state.closed)
                        WHERE nonce = \(key)
                        """,
                        logger: database.logger
                    )
                }
                return result
            }
        }.value
    }
}
