import Foundation
import GRDB
import Logging
import SimverifyAudit
import SimverifyAuditLog
import SimverifyCore
import Testing

@Suite("Durable audit log")
struct AuditLogTests {
    static let signer = try! NoteSigner(name: "simverify.test/audit", privateKey: .init())

    static func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID())/log.sqlite").path
    }

    static func open(
        _ path: String,
        signer: NoteSigner = signer,
        every: UInt64 = 10,
        seconds: Double = 10
    ) async throws -> AuditLog {
        try await AuditLog(
            configuration: .init(path: path, checkpointEveryEntries: every, checkpointEverySeconds: seconds),
            signer: signer,
            logger: Logger(label: "test")
        )
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

    @Test func concurrentAppendsAreDurableProvableAndSurviveReopening() async throws {
        let path = Self.temporaryPath()
        let log = try await Self.open(path)
        let receipts = try await withThrowingTaskGroup(of: AuditReceipt.self) { group in
            for i in 0..<200 { group.addTask { try await log.append(Self.record(i)) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(receipts.map(\.leafIndex)) == Set(0..<200))
        let note = try await log.latestSignedCheckpoint()
        let checkpoint = try Checkpoint.open(note, verifier: log.verifier)
        #expect(checkpoint.size == 200)
        for receipt in receipts.prefix(20) {
            let proof = try await log.inclusionProof(index: receipt.leafIndex, size: checkpoint.size)
            #expect(
                MerkleProofVerifier.verifyInclusion(
                    leafHash: receipt.leafHash,
                    index: receipt.leafIndex,
                    size: checkpoint.size,
                    proof: proof,
                    root: checkpoint.rootHash
                )
            )
        }
        let stored = try await log.entries(from: 0, to: 200)
        #expect(stored.count == 200)
        #expect(
            zip(stored, 0..<200).allSatisfy { bytes, index in
                receipts.contains { $0.leafIndex == UInt64(index) && $0.leafHash == MerkleHash.leaf(bytes) }
            }
        )
        await log.close()

        let reopened = try await Self.open(path)
        #expect(await reopened.size == 200)
        let again = try Checkpoint.open(try await reopened.latestSignedCheckpoint(), verifier: log.verifier)
        #expect(again.rootHash == checkpoint.rootHash)
        _ = try await reopened.append(Self.record(200))
        let grown = try Checkpoint.open(try await reopened.checkpoint(), verifier: log.verifier)
        let consistency = try await reopened.consistencyProof(from: 200, to: 201)
        #expect(
            MerkleProofVerifier.verifyConsistency(
                size1: 200,
                size2: 201,
                root1: checkpoint.rootHash,
                root2: grown.rootHash,
                proof: consistency
            )
        )
        await reopened.close()
    }

    /// The promise is "a checkpoint at least every N entries" (or sooner, when time passes), not
    /// "at multiples of N": with appends awaited one by one, no two checkpoints are more than N
    /// entries apart, whatever the machine's speed; and the log closes on a checkpoint of its size.
    @Test func checkpointsComeAtLeastEveryNEntriesAndAtClose() async throws {
        let path = Self.temporaryPath()
        let log = try await Self.open(path, every: 5)
        for i in 0..<12 { _ = try await log.append(Self.record(i)) }
        await log.close()
        let sizes = try await DatabaseQueue(path: path).read {
            try Int64.fetchAll($0, sql: "SELECT size FROM checkpoints ORDER BY size")
        }
        #expect(sizes.last == 12)
        #expect(zip([0] + sizes, sizes).allSatisfy { $1 - $0 <= 5 && $1 > $0 }, "checkpoint sizes \(sizes)")
        // With the time trigger out of reach, exactly the entry cadence.
        let untimed = Self.temporaryPath()
        let counted = try await Self.open(untimed, every: 5, seconds: 1e9)
        for i in 0..<12 { _ = try await counted.append(Self.record(i)) }
        await counted.close()
        let exact = try await DatabaseQueue(path: untimed).read {
            try Int64.fetchAll($0, sql: "SELECT size FROM checkpoints ORDER BY size")
        }
        #expect(exact == [5, 10, 12])
    }

    /// Writes to the database behind the log's back, as an insider with database access could.
    static func tamper(_ path: String, _ sql: String) async throws {
        try await DatabaseQueue(path: path).write { try $0.execute(sql: sql) }
    }

    @Test func aChangedByteADroppedTailOrAMissingEntryIsRefusedAtOpen() async throws {
        for attack in [
            "flip one byte of entry 3", "DELETE FROM entries WHERE idx >= 8", "DELETE FROM entries WHERE idx = 4",
        ] {
            let path = Self.temporaryPath()
            let log = try await Self.open(path)
            for i in 0..<10 { _ = try await log.append(Self.record(i)) }
            await log.close()
            if attack.hasPrefix("flip") {
                try await DatabaseQueue(path: path).write { db in
                    var bytes = Array(try Data.fetchOne(db, sql: "SELECT record FROM entries WHERE idx = 3")!)
                    bytes[12] ^= 0x01  // one bit of the tenant
                    try db.execute(sql: "UPDATE entries SET record = ? WHERE idx = 3", arguments: [Data(bytes)])
                }
            } else {
                try await Self.tamper(path, attack)
            }
            do {
                _ = try await Self.open(path)
                Issue.record("a tampered log opened: \(attack)")
            } catch let error as AuditError {
                #expect(error.code == .inconsistent, "\(attack): \(error)")
            }
        }
    }

    @Test func aCheckpointFromAnotherKeyIsRefused() async throws {
        let path = Self.temporaryPath()
        let log = try await Self.open(path)
        for i in 0..<3 { _ = try await log.append(Self.record(i)) }
        await log.close()
        let impostor = try NoteSigner(name: Self.signer.name, privateKey: .init())
        await #expect(throws: AuditError.self) { _ = try await Self.open(path, signer: impostor) }
    }

    @Test func lookupAndStats() async throws {
        let log = try await Self.open(Self.temporaryPath())
        for i in 0..<14 { _ = try await log.append(Self.record(i, tenant: i < 10 ? "carrier-a" : "carrier-b")) }
        #expect(try await log.entries(matching: [Array(repeating: 3, count: 32)]) == [3, 10])
        let stats = try await log.stats()
        #expect(stats.filter { $0.tenant == "carrier-a" }.reduce(0) { $0 + $1.count } == 10)
        #expect(stats.filter { $0.tenant == "carrier-b" && $0.decision == "APPROVED" }.reduce(0) { $0 + $1.count } == 2)
        await log.close()
    }
}
