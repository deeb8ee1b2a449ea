import ArgumentParser
import Foundation
import SimverifyAudit
import SimverifyClient
import SimverifyCommandSupport
import SimverifyConnectionOptions
import SimverifyCore
import Synchronization

/// Verify load through a balancer for a bounded time, surviving replicas that die under it:
/// what scripts/scale-test.sh drives through HAProxy.
struct ScaleLoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale-load",
        abstract: "One-frame Verify load for a bounded time; writes a receipt per acknowledged decision.",
        discussion: """
            --connections workers each send Verify calls (the same person) for --duration seconds.
            A call that fails (a replica killed under it, a connection refused) is counted by its
            class and the worker reconnects; a decision received is acknowledged, and its receipt
            (leaf index and leaf hash, hex) is appended to --receipts. Prints acknowledged
            decisions per second. `simverify-bench receipts` then checks them against the log.
            """
    )

    @Option(help: "Seconds to run.") var duration: Double = 15
    @Option(help: "Concurrent workers (one connection each).") var connections: Int = 6
    @Option(help: "ID-card photo.") var idCard: String
    @Option(help: "Selfie of the same person.") var selfie: String
    @Option(help: "File the receipts are appended to (index TAB leaf hash).") var receipts: String
    @OptionGroup var connection: ConnectionOptions

    final class Tally: Sendable {
        let acknowledged = Mutex<[(UInt64, [UInt8])]>([])
        let errors = Mutex<[String: Int]>([:])
    }

    func run() async throws {
        do {
            let configuration = try connection.clientConfiguration()
            let card = try ZeroizingBuffer(contentsOfFile: idCard, maxBytes: 16 << 20)
            let frame = try ZeroizingBuffer(contentsOfFile: selfie, maxBytes: 16 << 20)
            let tally = Tally()
            let clock = ContinuousClock()
            let start = clock.now
            let end = start + .milliseconds(Int(duration * 1000))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<max(1, connections) {
                    group.addTask {
                        var client: SimverifyClient?
                        while clock.now < end {
                            do {
                                if client == nil { client = try await SimverifyClient.connect(configuration) }
                                let result = try await client!.verify(
                                    VerificationRequest(idCardImage: card, selfieFrames: [frame], consentGiven: true),
                                    deadline: .seconds(30)
                                )
                                if let index = result.receiptLeafIndex, let hash = result.receiptLeafHash {
                                    tally.acknowledged.withLock { $0.append((index, hash)) }
                                } else {
                                    tally.errors.withLock { $0["decision without a receipt", default: 0] += 1 }
                                }
                            } catch {
                                let name =
                                    (error as? SimverifyClientError).map { "\($0.code)/\($0.reason)" } ?? "connect"
                                tally.errors.withLock { $0[name, default: 0] += 1 }
                                await client?.close()
                                client = nil
                                try? await Task.sleep(for: .milliseconds(100))
                            }
                        }
                        await client?.close()
                    }
                }
                try await group.waitForAll()
            }
            let seconds = (clock.now - start).inSeconds
            let received = tally.acknowledged.withLock { $0 }
            let lines = received.map { "\($0.0)\t\(hex($0.1))\n" }.joined()
            if !FileManager.default.fileExists(atPath: receipts) {
                _ = FileManager.default.createFile(atPath: receipts, contents: nil)
            }
            guard let handle = FileHandle(forWritingAtPath: receipts) else {
                throw SimverifyError(.fileUnreadable, "cannot write \(receipts)")
            }
            handle.seekToEndOfFile()
            handle.write(Data(lines.utf8))
            handle.closeFile()
            let failed = tally.errors.withLock { $0 }
            print(
                String(
                    format: "scale-load: %d decisions acknowledged in %.1f s: %.2f/s; failed calls %d",
                    received.count,
                    seconds,
                    Double(received.count) / seconds,
                    failed.values.reduce(0, +)
                )
                    + (failed.isEmpty
                        ? ""
                        : " ("
                            + failed.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                            + ")")
            )
        } catch {
            reportAndExit(error)
        }
    }
}

/// Checks receipts against the log, with the regulator's certificate: each acknowledged decision
/// must be in the log exactly once, at its index.
struct ReceiptsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receipts",
        abstract: "Check that every receipt is in the audit log exactly once, at its index.",
        discussion: """
            Reads the receipt files `scale-load` wrote, reads the whole log through --server with
            the regulator's certificate, and counts receipts missing (no record at the index with
            that leaf hash) and records logged more than once (the same leaf hash at two indices).
            Exit status 1 when either is not 0.
            """
    )

    @Argument(help: "Receipt files (index TAB leaf hash per line).") var files: [String]
    @Option(help: "Regulator certificate.") var regulatorCert: String = "certs/generated/regulator.pem"
    @Option(help: "Regulator key.") var regulatorKey: String = "certs/generated/regulator-key.pem"
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        do {
            var receipts: [(UInt64, String)] = []
            for file in files {
                let text = try String(contentsOfFile: file, encoding: .utf8)
                for line in text.split(whereSeparator: \.isNewline) {
                    let fields = line.split(separator: "\t")
                    guard fields.count == 2, let index = UInt64(fields[0]) else {
                        throw SimverifyError(.invalidArgument, "\(file): a line is not INDEX TAB HASH")
                    }
                    receipts.append((index, String(fields[1])))
                }
            }
            var configuration = try connection.clientConfiguration()
            configuration.certificate = regulatorCert
            configuration.privateKey = regulatorKey
            let regulator = try await SimverifyClient.connect(configuration)
            // The log's size from the regulator's counts, then every entry's leaf hash.
            let size = try await regulator.stats().map(\.count).reduce(0, +)
            var hashes: [String] = []
            while UInt64(hashes.count) < size {
                let from = UInt64(hashes.count)
                let entries = try await regulator.entries(from: from, to: min(size, from + 1000))
                hashes += entries.map { hex(MerkleHash.leaf($0)) }
            }
            await regulator.close()
            var counts: [String: Int] = [:]
            for hash in hashes { counts[hash, default: 0] += 1 }
            let missing = receipts.filter { index, hash in index >= hashes.count || hashes[Int(index)] != hash }.count
            let duplicated = receipts.filter { counts[$0.1, default: 0] > 1 }.count
            let indices = Set(receipts.map(\.0)).count
            print(
                "receipts: \(receipts.count) acknowledged decisions, \(indices) distinct indices; log \(hashes.count) entries; missing from the log \(missing), logged more than once \(duplicated)   target 0  \(missing == 0 && duplicated == 0 && indices == receipts.count ? "ok" : "MISSED")"
            )
            if missing > 0 || duplicated > 0 || indices != receipts.count { throw ExitCode(1) }
        } catch let error as ExitCode {
            throw error
        } catch {
            reportAndExit(error)
        }
    }
}
