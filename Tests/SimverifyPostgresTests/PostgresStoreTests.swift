import Foundation
import Logging
import PostgresNIO
import SimverifyAudit
import SimverifyAuditLog
import SimverifyCore
import SimverifyPostgres
import SimverifyServer
import Testing

/// A real PostgreSQL server (scripts/postgres.sh starts one; the test command exports its URL as
/// SIMVERIFY_POSTGRES_URL). Every test runs in a database of its own, dropped after it; each
/// "replica" is a connection pool of its own, as separate processes would have.
enum PostgresTestSupport {
    static var baseURL: String {
        get throws {
            guard let url = ProcessInfo.processInfo.environment["SIMVERIFY_POSTGRES_URL"], !url.isEmpty else {
                throw TestFailure("SIMVERIFY_POSTGRES_URL is not set: run the tests through scripts/test.sh")
            }
            return url
        }
    }

    /// Runs `body` with the URL of a new, empty database, dropped afterwards.
    static func withDatabase(_ body: (String) async throws -> Void) async throws {
        let base = try Self.baseURL
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await Self.withReplica(base) { admin in
            try await admin.client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        }
        var components = URLComponents(string: base)!
        components.path = "/" + name
        do {
            try await body(components.string!)
        } catch {
            try? await Self.drop(name, base: base)
            throw error
        }
        try await Self.drop(name, base: base)
    }

    private static func drop(_ name: String, base: String) async throws {
        try await Self.withReplica(base) { admin in
            try await admin.client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
        }
    }

    /// `count` pools to `url`, each running for the length of `body`, as that many replicas hold.
    static func withReplicas<T>(
        _ url: String,
        _ count: Int,
        _ body: ([PostgresStorage]) async throws -> T
    ) async throws -> T {
        var replicas: [PostgresStorage] = []
        var runs: [Task<Void, Never>] = []
        defer { for run in runs { run.cancel() } }
        for _ in 0..<count {
            let database = try PostgresStorage(url: url, logger: Logger(label: "test"), maximumConnections: 8)
            replicas.append(database)
            runs.append(Task { await database.client.run() })
        }
        return try await body(replicas)
    }

    /// A pool to `url` running for the length of `body`, as one replica holds.
    static func withReplica<T>(_ url: String, _ body: (PostgresStorage) async throws -> T) async throws -> T {
        try await Self.withReplicas(url, 1) { try await body($0[0]) }
    }

    static func record(_ i: Int, tenant: String = "carrier-a") -> AuditRecord {
        AuditRecord(
            time: 1_795_000_000 + UInt64(i),
            event: .verify,
            tenant: tenant,
            terminal: "store-\(i % 3)",
            role: .counter,
            decision: i % 2 == 0 ? .approved : .rejected,
            reasons: [i % 2 == 0 ? .facesMatch : .facesDiffer],
            distance: 0.3 + Double(i % 5) / 10,
            policyVersion: "p1",
            modelVersion: "m1",
            identifiers: [.init(field: .nationalID, keyID: "k1", hmac: Array(repeating: UInt8(i % 7), count: 32))]
        )
    }

    static let signer = try! NoteSigner(name: "simverify.test/audit", privateKey: .init())

    static func log(_ database: PostgresStorage, every: UInt64 = 1000) async throws -> PostgresAuditLog {
        try await PostgresAuditLog(
            database: database,
            signer: Self.signer,
            configuration: .init(checkpointEveryEntries: every, checkpointEverySeconds: 3600),
            logger: Logger(label: "test")
        )
    }

    /// Waits (bounded) until `condition` holds.
    static func eventually(_ seconds: Double = 10, _ condition: () async throws -> Bool) async throws -> Bool {
        let end = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < end {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@Suite("PostgreSQL session store across replicas")
struct PostgresSessionStoreTests {
    @Test func attemptsRacingOnTwoReplicasAreCountedOnceEach() async throws {
        try await PostgresTestSupport.withDatabase { url in
            try await PostgresTestSupport.withReplicas(url, 2) { replicas in
                let (a, b) = (replicas[0], replicas[1])
                try await a.createSchema()
                let stores = [PostgresSessionStore(database: a), PostgresSessionStore(database: b)]
                let nonce = Array("session-1".utf8)
                let admissions = try await withThrowingTaskGroup(of: SessionState.Admission.self) { group in
                    for i in 0..<12 {
                        group.addTask {
                            try await stores[i % 2].admit(
                                nonce: nonce,
                                expiresAt: 2_000_000_000,
                                allowed: 3,
                                now: 1_900_000_000
                            )
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                let numbers = admissions.compactMap { admission -> Int? in
                    if case .attempt(let n) = admission { return n }
                    return nil
                }
                #expect(numbers.sorted() == [1, 2, 3])
                #expect(admissions.filter { $0 == .exhausted }.count == 9)
                // Started (and counted) on one replica, seen on the other.
                #expect(try await stores[1].state(nonce: nonce) == SessionState(attempts: 3, closed: false))
                try await stores[0].giveBack(nonce: nonce, expiresAt: 2_000_000_000)
                #expect(try await stores[1].state(nonce: nonce)?.attempts == 2)
            }
        }
    }

    @Test func aTokenIsSpentOnceWhenTwoReplicasRace() async throws {
        try await PostgresTestSupport.withDatabase { url in
            try await PostgresTestSupport.withReplicas(url, 2) { replicas in
                let (a, b) = (replicas[0], replicas[1])
                try await a.createSchema()
                let stores = [PostgresSessionStore(database: a), PostgresSessionStore(database: b)]
                for round in 0..<10 {
                    let nonce = Array("race-\(round)".utf8)
                    // Two replicas admit the same one-attempt token at once: one attempt, one refusal.
                    async let first = stores[0].admit(
                        nonce: nonce,
                        expiresAt: 2_000_000_000,
                        allowed: 1,
                        now: 1_900_000_000
                    )
                    async let second = stores[1].admit(
                        nonce: nonce,
                        expiresAt: 2_000_000_000,
                        allowed: 1,
                        now: 1_900_000_000
                    )
                    let both = try await [first, second]
                    #expect(both.filter { $0 == .attempt(number: 1) }.count == 1)
                    #expect(both.filter { $0 == .exhausted }.count == 1)
                    // The decision recorded on one replica closes the token on the other.
                    #expect(try await stores[round % 2].recorded(.approved, nonce: nonce, expiresAt: 2_000_000_000))
                    #expect(
                        try await stores[(round + 1) % 2].admit(
                            nonce: nonce,
                            expiresAt: 2_000_000_000,
                            allowed: 3,
                            now: 1_900_000_000
                        ) == .closed
                    )
                }
            }
        }
    }
}

@Suite("PostgreSQL audit log across replicas")
struct PostgresAuditLogTests {
    @Test func threeReplicasAppendOneGaplessLogWithOneSigner() async throws {
        try await PostgresTestSupport.withDatabase { url in
            try await PostgresTestSupport.withReplicas(url, 3) { replicas in
                let (a, b, c) = (replicas[0], replicas[1], replicas[2])
                let logs = [
                    try await PostgresTestSupport.log(a), try await PostgresTestSupport.log(b),
                    try await PostgresTestSupport.log(c),
                ]
                let receipts = try await withThrowingTaskGroup(of: (Int, AuditReceipt).self) { group in
                    for i in 0..<120 {
                        group.addTask { (i, try await logs[i % 3].append(PostgresTestSupport.record(i))) }
                    }
                    return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
                }
                // Every record took one index, and the indices run 0..<120 with no gap.
                #expect(Set(receipts.values.map(\.leafIndex)) == Set(0..<120))
                // Every replica reads the same log, and each receipt's hash is its record's.
                var stored: [[[UInt8]]] = []
                for log in logs { stored.append(try await log.entries(from: 0, to: 120)) }
                #expect(stored[0] == stored[1] && stored[1] == stored[2])
                for receipt in receipts.values {
                    #expect(MerkleHash.leaf(stored[0][Int(receipt.leafIndex)]) == receipt.leafHash)
                }
                // One signer among the three.
                #expect(
                    try await PostgresTestSupport.eventually {
                        await logs.asyncCount { await $0.isSigner } == 1
                    }
                )
                #expect(await logs.asyncCount { await $0.isSigner } == 1)
                let signer = try #require(await logs.asyncFirst { await $0.isSigner })
                let note = try await signer.latestSignedCheckpoint()
                let checkpoint = try Checkpoint.open(note, verifier: PostgresTestSupport.signer.verifier)
                #expect(checkpoint.size == 120)
                // The regulator's pull and verification pass against every replica.
                for log in logs {
                    #expect(try await log.latestSignedCheckpoint() == note)
                    let bundle = try AuditBundle(
                        directory: FileManager.default.temporaryDirectory.appendingPathComponent(
                            "bundle-\(UUID())"
                        )
                        .path,
                        vkey: PostgresTestSupport.signer.verifier.vkey
                    )
                    #expect(try await bundle.pull(from: log) == .init(previousSize: 0, size: 120))
                    #expect(try bundle.verify().ok)
                    // Inclusion proofs from any replica.
                    let proof = try await log.inclusionProof(index: 37, size: 120)
                    #expect(
                        MerkleProofVerifier.verifyInclusion(
                            leafHash: MerkleHash.leaf(stored[0][37]),
                            index: 37,
                            size: 120,
                            proof: proof,
                            root: checkpoint.rootHash
                        )
                    )
                }
                // The regulator's reads: subjects and stats from any replica.
                #expect(try await logs[2].entries(matching: [Array(repeating: 3, count: 32)]).count == 17)
                #expect(try await logs[1].stats().map(\.count).reduce(0, +) == 120)
                for log in logs { await log.close() }
            }
        }
    }

    @Test func whenTheSignerStopsAnotherReplicaSignsAnExtensionOfItsCheckpoint() async throws {
        try await PostgresTestSupport.withDatabase { url in
            try await PostgresTestSupport.withReplicas(url, 2) { replicas in
                let (a, b) = (replicas[0], replicas[1])
                let first = try await PostgresTestSupport.log(a)
                #expect(try await PostgresTestSupport.eventually { await first.isSigner })
                let second = try await PostgresTestSupport.log(b)
                for i in 0..<10 { _ = try await second.append(PostgresTestSupport.record(i)) }
                let before = try Checkpoint.open(
                    try await first.latestSignedCheckpoint(),
                    verifier: PostgresTestSupport.signer.verifier
                )
                #expect(before.size == 10)
                #expect(await !second.isSigner)
                // The signer goes away (its lock freed); the other takes the lock and signs on.
                await first.close()
                #expect(try await PostgresTestSupport.eventually { await second.isSigner })
                for i in 10..<15 { _ = try await second.append(PostgresTestSupport.record(i)) }
                let after = try Checkpoint.open(
                    try await second.latestSignedCheckpoint(),
                    verifier: PostgresTestSupport.signer.verifier
                )
                #expect(after.size == 15)
                let proof = try await second.consistencyProof(from: 10, to: 15)
                #expect(
                    MerkleProofVerifier.verifyConsistency(
                        size1: 10,
                        size2: 15,
                        root1: before.rootHash,
                        root2: after.rootHash,
                        proof: proof
                    )
                )
                await second.close()
            }
        }
    }

    @Test func aReopenedLogChecksItsRecordsAgainstTheLastCheckpoint() async throws {
        try await PostgresTestSupport.withDatabase { url in
            try await PostgresTestSupport.withReplica(url) { database in
                let log = try await PostgresTestSupport.log(database)
                for i in 0..<8 { _ = try await log.append(PostgresTestSupport.record(i)) }
                #expect(try await PostgresTestSupport.eventually { await log.isSigner })
                _ = try await log.latestSignedCheckpoint()
                await log.close()
                // Reopened as it is: the tree is rebuilt and matches.
                let reopened = try await PostgresTestSupport.log(database)
                #expect(await reopened.state()?.entries == 8)
                await reopened.close()
                // A record rewritten in the database: the log refuses to open.
                try await database.client.query(
                    "UPDATE audit_entries SET record = \(Data(try PostgresTestSupport.record(99).encoded())) WHERE idx = 3"
                )
                await #expect {
                    _ = try await PostgresTestSupport.log(database)
                } throws: { error in
                    (error as? AuditError)?.code == .inconsistent
                }
            }
        }
    }
}

extension Array where Element: Sendable {
    func asyncCount(_ predicate: (Element) async -> Bool) async -> Int {
        var count = 0
        for element in self where await predicate(element) { count += 1 }
        return count
    }

    func asyncFirst(_ predicate: (Element) async -> Bool) async -> Element? {
        for element in self where await predicate(element) { return element }
        return nil
    }
}
