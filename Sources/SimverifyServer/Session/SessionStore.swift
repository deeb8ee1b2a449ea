import Foundation
import GRDB
import SimverifyCore

/// Where the single-use state of liveness sessions is kept: per session nonce, the attempts made
/// and whether a final decision closed it. Tokens are stateless and checked by MAC; the store is
/// what makes them single-use. Each call applies one of the session rules' events
/// (`SessionState`) atomically, so that racing attempts are counted once each.
public protocol SessionStore: Sendable {
    /// Counts an attempt on the session, atomically; it is in progress until `recorded` or
    /// `giveBack`. Sessions an hour past their expiry may be purged on the way.
    func admit(nonce: [UInt8], expiresAt: UInt64, allowed: Int, now: UInt64) async throws -> SessionState.Admission
    /// Gives back an attempt that ended with no decision in the log (server busy, unreadable
    /// image, the call abandoned, the audit log failing).
    func giveBack(nonce: [UInt8], expiresAt: UInt64) async throws
    /// An attempt's decision is in the audit log: the session closes if the decision closes it.
    /// - Returns: Whether the session is closed.
    @discardableResult
    func recorded(_ decision: Decision, nonce: [UInt8], expiresAt: UInt64) async throws -> Bool
    /// The stored state of a session (nil for a session with no attempt, or unknown).
    func state(nonce: [UInt8]) async throws -> SessionState?
}

extension SessionStore {
    /// Attempts a session has counted so far (0 for a session with none, or unknown).
    func attemptsUsed(nonce: [UInt8]) async throws -> Int {
        try await self.state(nonce: nonce)?.attempts ?? 0
    }
}

/// The session store in the embedded SQLite database. A row is created at the first attempt and
/// purged an hour after the token expires (an expired token is refused before the store is asked).
public final class SQLiteSessionStore: SessionStore {
    private let database: DatabaseQueue

    /// What an attempt may do (the session rules' own answer).
    public typealias Admission = SessionState.Admission

    /// Opens (creating if needed) the store at `path`; nil keeps it in memory (tests, tools).
    public init(path: String?) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        if let path {
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent.isEmpty
                    ? "." : (path as NSString).deletingLastPathComponent,
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

    /// The session's state as stored (a session with no row has had no attempt).
    private static func state(_ db: Database, nonce: [UInt8]) throws -> SessionState? {
        try Row.fetchOne(db, sql: "SELECT attempts, closed FROM sessions WHERE nonce = ?", arguments: [Data(nonce)]).map
        { row in
            SessionState(attempts: row["attempts"], closed: (row["closed"] as Int) != 0)
        }
    }

    private static func store(_ db: Database, _ state: SessionState, nonce: [UInt8], expiresAt: UInt64) throws {
        try db.execute(
            sql: """
                INSERT INTO sessions(nonce, expires_at, attempts, closed) VALUES (?, ?, ?, ?)
                ON CONFLICT(nonce) DO UPDATE SET attempts = excluded.attempts, closed = excluded.closed
                """,
            arguments: [Data(nonce), Int64(clamping: expiresAt), state.attempts, state.closed ? 1 : 0]
        )
    }

    /// Applies one of the session rules' events to the stored state, in one transaction.
    private func update<T: Sendable>(
        nonce: [UInt8],
        expiresAt: UInt64,
        purgingBefore purge: Int64? = nil,
        _ event: @escaping @Sendable (inout SessionState) -> T
    ) async throws -> T {
        try await self.write { db in
            if let purge { try db.execute(sql: "DELETE FROM sessions WHERE expires_at < ?", arguments: [purge]) }
            let before = try Self.state(db, nonce: nonce)
            var state = before ?? SessionState()
            let result = event(&state)
            if state != before ?? SessionState() { try Self.store(db, state, nonce: nonce, expiresAt: expiresAt) }
            return result
        }
    }

    public func admit(
        nonce: [UInt8],
        expiresAt: UInt64,
        allowed: Int,
        now: UInt64 = UInt64(Date().timeIntervalSince1970)
    ) async throws -> Admission {
        try await self.update(nonce: nonce, expiresAt: expiresAt, purgingBefore: Int64(clamping: now) - 3600) {
            $0.admit(allowed: allowed)
        }
    }

    public func state(nonce: [UInt8]) async throws -> SessionState? {
        try await self.database.read { db in try Self.state(db, nonce: nonce) }
    }

    public func giveBack(nonce: [UInt8], expiresAt: UInt64) async throws {
        try await self.update(nonce: nonce, expiresAt: expiresAt) { $0.giveBack() }
    }

    @discardableResult
    public func recorded(_ decision: Decision, nonce: [UInt8], expiresAt: UInt64) async throws -> Bool {
        try await self.update(nonce: nonce, expiresAt: expiresAt) { $0.recorded(decision) }
    }
}
