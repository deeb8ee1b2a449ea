import Foundation
import Logging
import SimverifyAudit
import SimverifyAuditLog
import Testing

/// The regulator's bundle catches tampering, dropped entries, forks and foreign keys.
@Suite("Regulator bundle")
struct AuditBundleTests {
    static func bundlePath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("bundle-\(UUID())").path
    }

    static func filledLog(
        _ count: Int,
        signer: NoteSigner = AuditLogTests.signer,
        offset: Int = 0
    ) async throws -> AuditLog {
        let log = try await AuditLogTests.open(AuditLogTests.temporaryPath(), signer: signer, every: 4)
        for i in 0..<count { _ = try await log.append(AuditLogTests.record(i + offset)) }
        return log
    }

    @Test func pullsIncrementallyVerifiesAndProvesReceipts() async throws {
        let log = try await Self.filledLog(10)
        let bundle = try AuditBundle(directory: Self.bundlePath(), vkey: log.verifier.vkey)
        #expect(try await bundle.pull(from: log) == .init(previousSize: 0, size: 10))
        for i in 10..<25 { _ = try await log.append(AuditLogTests.record(i)) }
        let receipt = try await log.append(AuditLogTests.record(99))
        #expect(try await bundle.pull(from: log) == .init(previousSize: 10, size: 26))
        let report = try bundle.verify()
        #expect(report.ok && report.entries == 26 && report.checkpointsVerified == 2)
        #expect(try bundle.prove(index: receipt.leafIndex, leafHash: receipt.leafHash).size == 26)
        var forged = receipt.leafHash
        forged[0] ^= 1
        #expect(throws: AuditError.self) { try bundle.prove(index: receipt.leafIndex, leafHash: forged) }
        await log.close()
    }

    @Test func oneChangedByteIsNamedByItsIndex() async throws {
        let log = try await Self.filledLog(10)
        let path = Self.bundlePath()
        let bundle = try AuditBundle(directory: path, vkey: log.verifier.vkey)
        try await bundle.pull(from: log)
        // Flip one byte inside entry 6 of entries.bin.
        var entries = Array(try Data(contentsOf: URL(fileURLWithPath: path + "/entries.bin")))
        var offset = 0
        for _ in 0..<6 {
            offset +=
                4
                + (Int(entries[offset]) << 24 | Int(entries[offset + 1]) << 16 | Int(entries[offset + 2]) << 8
                    | Int(entries[offset + 3]))
        }
        entries[offset + 4 + 12] ^= 0x20
        try Data(entries).write(to: URL(fileURLWithPath: path + "/entries.bin"))
        let report = try bundle.verify()
        #expect(!report.ok && report.firstBadIndex == 6)
        // Rewriting the recorded leaf hash too does not help: the signed root no longer matches.
        var hashes = Array(try Data(contentsOf: URL(fileURLWithPath: path + "/leafhashes.bin")))
        let record = Array(
            entries[
                (offset + 4)..<(offset + 4
                    + (Int(entries[offset]) << 24 | Int(entries[offset + 1]) << 16 | Int(entries[offset + 2]) << 8
                        | Int(entries[offset + 3])))
            ]
        )
        hashes.replaceSubrange((6 * 32)..<(7 * 32), with: MerkleHash.leaf(record))
        try Data(hashes).write(to: URL(fileURLWithPath: path + "/leafhashes.bin"))
        let second = try bundle.verify()
        #expect(!second.ok && second.firstBadIndex.map { $0 <= 6 } == true && second.problem.contains("signed root"))
        await log.close()
    }

    @Test func droppedTrailingEntriesAreCaught() async throws {
        let log = try await Self.filledLog(12)
        let path = Self.bundlePath()
        let bundle = try AuditBundle(directory: path, vkey: log.verifier.vkey)
        try await bundle.pull(from: log)
        // Locally: the bundle loses its last two entries (both files cut consistently).
        let hashes = try Data(contentsOf: URL(fileURLWithPath: path + "/leafhashes.bin"))
        try hashes.prefix(10 * 32).write(to: URL(fileURLWithPath: path + "/leafhashes.bin"))
        let entries = Array(try Data(contentsOf: URL(fileURLWithPath: path + "/entries.bin")))
        var offset = 0
        for _ in 0..<10 {
            offset +=
                4
                + (Int(entries[offset]) << 24 | Int(entries[offset + 1]) << 16 | Int(entries[offset + 2]) << 8
                    | Int(entries[offset + 3]))
        }
        try Data(entries.prefix(offset)).write(to: URL(fileURLWithPath: path + "/entries.bin"))
        let report = try bundle.verify()
        #expect(!report.ok && report.problem.contains("dropped") && report.firstBadIndex == 10)
        // At the source: a log that now shows fewer entries than a checkpoint kept earlier.
        let shorter = try await Self.filledLog(8)
        let fresh = try AuditBundle(directory: Self.bundlePath(), vkey: log.verifier.vkey)
        try await fresh.pull(from: log)
        do {
            try await fresh.pull(from: shorter)
            Issue.record("a shrunken log was accepted")
        } catch let error as AuditError {
            #expect(error.code == .inconsistent && error.message.contains("shrank"))
        }
        await log.close()
        await shorter.close()
    }

    @Test func aForkSignedWithTheRightKeyIsCaughtAgainstAKeptCheckpoint() async throws {
        let honest = try await Self.filledLog(10)
        let bundle = try AuditBundle(directory: Self.bundlePath(), vkey: honest.verifier.vkey)
        try await bundle.pull(from: honest)
        // The same key signs a different history: entry 5 differs, and it grew to 14.
        let fork = try await AuditLogTests.open(AuditLogTests.temporaryPath(), signer: AuditLogTests.signer, every: 4)
        for i in 0..<14 { _ = try await fork.append(AuditLogTests.record(i == 5 ? 500 : i)) }
        do {
            try await bundle.pull(from: fork)
            Issue.record("a forked log was accepted")
        } catch let error as AuditError {
            #expect(error.code == .inconsistent)
        }
        #expect(try bundle.verify().ok, "nothing from the fork was written")
        #expect(bundle.entryCount == 10)
        await honest.close()
        await fork.close()
    }

    @Test func aCheckpointFromAnUnknownKeyIsRefused() async throws {
        let honest = try await Self.filledLog(3)
        let impostor = try await Self.filledLog(
            3,
            signer: try NoteSigner(name: AuditLogTests.signer.name, privateKey: .init())
        )
        let bundle = try AuditBundle(directory: Self.bundlePath(), vkey: honest.verifier.vkey)
        await #expect(throws: AuditError.self) { try await bundle.pull(from: impostor) }
        #expect(bundle.entryCount == 0)
        #expect(throws: AuditError.self) { try AuditBundle(directory: bundle.directory, vkey: impostor.verifier.vkey) }
        await honest.close()
        await impostor.close()
    }
}
