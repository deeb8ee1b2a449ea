import Foundation
import GRDB

/// The single-use state of liveness sessions, in the embedded SQLite database (PostgreSQL when
/// replicas share it): per session nonce, the attempts made and whether a final decision closed it.
///
/// Tokens are stateless and checked by MAC; this store is what makes them single-use. A row is
/// created at the first attempt and purged an hour after the token expires (an expired token
/// is refused before the store is asked).
public final class SessionStore: Sendable {
    private let database: DatabaseQueue

    /// What an attempt may do.
    public enum Admission: Sendable, Hashable {
        /// Go ahead: this is attempt `number` (from 1).
        case attempt(number: Int)
        /// Every allowed attempt was used: this one gets FALLBACK, and the session closes.
        case exhausted
        /// A final decision was already given: the token is spent.
        case closed
    }

    /// Opens (creating if needed) the store at `path`; nil keeps it in memory (tests, tools).
    public init(path: String?) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        if let path {
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            self.database = try DatabaseQueue(path: path, configuration: configuration)
        } else {
            self.database = try DatabaseQueue(configuration: configuration)
        }
        try self.database.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS sessions (
                        nonce BLOB PRIMARY KEY, expires_at INTEGER NOT NULL, attempts INTEGER NOT NULL, closed INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions(expires_at);
                    """
            )
        }
    }

    /// A write the caller's cancellation does not reach: GRDB gives up a cancelled task's access,
    /// possibly after committing it, which would spend or keep an attempt unseen.
    private func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let database = self.database
        return try await Task { try await database.write(updates) }.value
    }

    /// Counts an attempt on the session, atomically.
    public func admit(nonce: [UInt8], expiresAt: UInt64, allowed: Int, now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> Admission {
        try await self.write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE expires_at < ?", arguments: [Int64(clamping: now) - 3600])
            let row = try Row.fetchOne(db, sql: "SELECT attempts, closed FROM sessions WHERE nonce = ?", arguments: [Data(nonce)])
            let attempts: Int = row?["attempts"] ?? 0
            let closed: Bool = (row?["closed"] ?? 0) != 0
            if closed { return .closed }
            if attempts >= allowed {
                try db.execute(sql: "UPDATE sessions SET closed = 1 WHERE nonce = ?", arguments: [Data(nonce)])
                return .exhausted
            }
            try db.execute(
                sql: "INSERT INTO sessions(nonce, expires_at, attempts, closed) VALUES (?, ?, 1, 0) ON CONFLICT(nonce) DO UPDATE SET attempts = attempts + 1",
                arguments: [Data(nonce), Int64(clamping: expiresAt)]
            )
            return .attempt(number: attempts + 1)
        }
    }

    /// Attempts a session has used so far (0 for a session with none, or unknown).
    func attemptsUsed(nonce: [UInt8]) async throws -> Int {
        try await self.database.read { db in
            try Int.fetchOne(db, sql: "SELECT attempts FROM sessions WHERE nonce = ?", arguments: [Data(nonce)]) ?? 0
        }
    }

    /// Gives back an attempt that ended before any decision (server busy, unreadable image).
    public func refund(nonce: [UInt8]) async throws {
        try await self.write { db in
            try db.execute(sql: "UPDATE sessions SET attempts = MAX(0, attempts - 1) WHERE nonce = ? AND closed = 0", arguments: [Data(nonce)])
        }
    }

    /// Marks the session spent: a final decision was given.
    public func close(nonce: [UInt8]) async throws {
        try await self.write { db in
            try db.execute(sql: "UPDATE sessions SET closed = 1 WHERE nonce = ?", arguments: [Data(nonce)])
        }
    }
}
