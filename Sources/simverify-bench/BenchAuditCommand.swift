import ArgumentParser
import Crypto
import Foundation
import Logging
import PostgresNIO
import SimverifyAudit
import SimverifyAuditLog
import SimverifyCommandSupport
import SimverifyCore
import SimverifyPostgres

struct BenchAuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Benchmark the audit log: durable appends with group commit, and bundle verification.",
        discussion: """
            Appends --appends records with --concurrency appenders into a fresh SQLite log (WAL,
            synchronous=FULL) and prints records per second, against one appender at a time (one
            fsync per record) measured in the same run. With --bundle DIR, writes a bundle of
            --entries synthetic records through the real pull code (checkpoints every 100,000) for
            `simverify-audit verify` to be timed on; scripts/bench-audit.sh does both.
            """
    )

    @Option(help: "Records to append.") var appends: Int = 20_000
    @Option(help: "Concurrent appenders.") var concurrency: Int = 64
    @Option(help: "Records appended one at a time, for the reference.") var serialAppends: Int = 300
    @Option(help: "Directory for a synthetic bundle.") var bundle: String?
    @Option(help: "Entries in the synthetic bundle.") var entries: UInt64 = 1_000_000
    @Option(
        help:
            "A PostgreSQL server (postgres://USER@HOST:PORT/DATABASE): also measure the shared log's append ceiling from one and from three replicas, each in a database of its own."
    ) var postgres: String?

    func run() async throws {
        do {
            let signer = try NoteSigner(name: "simverify.bench/audit", privateKey: .init())
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-audit-\(UUID())").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var logger = Logger(label: "bench")
            logger.logLevel = .warning

            let serialLog = try await AuditLog(
                configuration: .init(path: directory + "/serial.sqlite"),
                signer: signer,
                logger: logger
            )
            let clock = ContinuousClock()
            var start = clock.now
            for i in 0..<serialAppends { _ = try await serialLog.append(Self.record(UInt64(i))) }
            let serialRate = Double(serialAppends) / ((clock.now - start).milliseconds / 1000)
            await serialLog.close()

            let log = try await AuditLog(
                configuration: .init(path: directory + "/group.sqlite"),
                signer: signer,
                logger: logger
            )
            start = clock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                let perWorker = appends / concurrency
                for worker in 0..<concurrency {
                    group.addTask {
                        for i in 0..<perWorker { _ = try await log.append(Self.record(UInt64(worker * perWorker + i))) }
                    }
                }
                try await group.waitForAll()
            }
            let total = (appends / concurrency) * concurrency
            let groupRate = Double(total) / ((clock.now - start).milliseconds / 1000)
            await log.close()
            print(
                String(
                    format:
                        "durable appends: %.0f records/s with %d appenders (group commit), %.0f records/s one at a time: %.1fx   target >= 5000/s  %@",
                    groupRate,
                    concurrency,
                    serialRate,
                    groupRate / serialRate,
                    groupRate >= 5000 ? "ok" : "MISSED"
                )
            )

            if let postgres {
                var rates: [Double] = []
                for replicas in [1, 3] {
                    rates.append(
                        try await Self.postgresRate(
                            url: postgres,
                            replicas: replicas,
                            appends: appends,
                            concurrency: concurrency,
                            signer: signer,
                            logger: logger
                        )
                    )
                }
                print(
                    String(
                        format:
                            "PostgreSQL, one log (advisory-locked group commit): %.0f records/s from one replica, %.0f from three, with %d appenders in all; %.2fx SQLite's group commit",
                        rates[0],
                        rates[1],
                        concurrency,
                        rates[0] / groupRate
                    )
                )
            }

            if let bundle {
                let source = SyntheticLog(signer: signer, size: entries)
                let local = try AuditBundle(directory: bundle, vkey: signer.verifier.vkey)
                start = clock.now
                var size: UInt64 = 0
                while size < entries {
                    size = min(size + 100_000, entries)
                    await source.grow(to: size)
                    try await local.pull(from: source)
                }
                print(
                    String(
                        format: "bundle: %llu entries written to %@ through pull in %.1f s",
                        entries,
                        bundle,
                        (clock.now - start).milliseconds / 1000
                    )
                )
            }
        } catch {
            reportAndExit(error)
        }
    }

    /// A realistic verify record: two image digests, three keyed identifiers. Deterministic in
    /// `i`, its event id too: the synthetic log encodes each record twice (for its tree, then
    /// for the entries it serves), and a random id would make the two disagree.
    /// Durable appends per second into one PostgreSQL log from `replicas` replicas (a pool and a
    /// log each), `concurrency` appenders spread over them, in a new database dropped after.
    static func postgresRate(
        url: String,
        replicas: Int,
        appends: Int,
        concurrency: Int,
        signer: NoteSigner,
        logger: Logger
    ) async throws -> Double {
        let name = "bench_audit_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let admin = try PostgresStorage(url: url, logger: logger, maximumConnections: 2)
        let adminRun = Task { await admin.client.run() }
        defer { adminRun.cancel() }
        try await admin.client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        var components = URLComponents(string: url)!
        components.path = "/" + name
        var storages: [PostgresStorage] = []
        var runs: [Task<Void, Never>] = []
        var logs: [PostgresAuditLog] = []
        for _ in 0..<replicas {
            let storage = try PostgresStorage(url: components.string!, logger: logger)
            storages.append(storage)
            runs.append(Task { await storage.client.run() })
            logs.append(try await PostgresAuditLog(database: storage, signer: signer, logger: logger))
        }
        let clock = ContinuousClock()
        let start = clock.now
        let perWorker = appends / concurrency
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                let log = logs[worker % replicas]
                group.addTask {
                    for i in 0..<perWorker { _ = try await log.append(Self.record(UInt64(worker * perWorker + i))) }
                }
            }
            try await group.waitForAll()
        }
        let rate = Double(perWorker * concurrency) / ((clock.now - start).milliseconds / 1000)
        for log in logs { await log.close() }
        for run in runs { run.cancel() }
        try await admin.client.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)"), logger: logger)
        return rate
    }

    static func record(_ i: UInt64) -> AuditRecord {
        let digest = { (seed: UInt64) in Array(SHA256.hash(data: withUnsafeBytes(of: seed) { Array($0) })) }
        return AuditRecord(
            time: 1_795_000_000 + i / 10,
            event: .verify,
            tenant: "carrier-\(i % 3)",
            terminal: "store-\(i % 500)",
            role: .counter,
            decision: i % 7 == 0 ? .rejected : .approved,
            reasons: [i % 7 == 0 ? .facesDiffer : .facesMatch],
            distance: Double(i % 900) / 1000,
            policyVersion: "match-2026.11-1",
            modelVersion: "dlib-19.24/hog+sp5+resnet-v1",
            images: [.init(kind: .idCard, sha256: digest(i)), .init(kind: .selfieFrame, sha256: digest(i ^ 0xFFFF))],
            identifiers: [
                .init(field: .nationalID, keyID: "national_id-2026-11-22", hmac: digest(i &* 3)),
                .init(field: .msisdn, keyID: "msisdn-2026-11-22", hmac: digest(i &* 5)),
                .init(field: .iccid, keyID: "iccid-2026-11-22", hmac: digest(i &* 7)),
            ],
            eventID: Array(digest(i ^ 0xE7E7).prefix(16))
        )
    }
}

/// A log made up on the fly, for building large bundles through the real pull code.
actor SyntheticLog: AuditLogSource {
    private let signer: NoteSigner
    private var tree = MerkleTree()

    init(signer: NoteSigner, size: UInt64) {
        self.signer = signer
    }

    func grow(to size: UInt64) {
        while self.tree.size < size {
            self.tree.append(leafHash: MerkleHash.leaf(try! BenchAuditCommand.record(self.tree.size).encoded()))
        }
    }

    func checkpoint() async throws -> [UInt8] {
        try Checkpoint(origin: self.signer.name, size: self.tree.size, rootHash: self.tree.root()).signed(
            by: self.signer
        )
    }

    func entries(from start: UInt64, to end: UInt64) async throws -> [[UInt8]] {
        try (start..<end).map { try BenchAuditCommand.record($0).encoded() }
    }

    func consistencyProof(from: UInt64, to: UInt64) async throws -> [[UInt8]] {
        self.tree.consistencyProof(from: from, to: to)
    }
}
