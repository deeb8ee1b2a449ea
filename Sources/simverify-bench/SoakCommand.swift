import ArgumentParser
import Foundation
import Histogram
import NIOCore
import SimverifyAudit
import SimverifyClient
import SimverifyCommandSupport
import SimverifyConnectionOptions
import SimverifyCore
import SimverifyWire
import Synchronization

struct SoakCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Mixed valid and invalid traffic against a running server for a bounded time.",
        discussion: """
            --connections workers each send a mix: Verify of the same and of different people,
            Health, malformed payloads, non-JPEG images, too many frames, missing consent, and
            calls to an unknown method (which end the connection; the worker reconnects). Prints
            calls served, errors by class, the server's RSS after warm-up and at the end (with
            --server-pid), p99 latency of the valid calls, and lost audit records: every receipt
            received is looked up in the log with the regulator certificate. scripts/soak.sh runs it.
            """
    )

    @Option(help: "Seconds to run (warm-up is the first 20%).") var duration: Double = 120
    @Option(help: "Concurrent workers (one connection each).") var connections: Int = 6
    @Option(help: "The server's process id, for RSS.") var serverPid: Int32?
    @Option(help: "A photo of person A.") var personA: String
    @Option(help: "Another photo of person A.") var personA2: String
    @Option(help: "A photo of person B.") var personB: String
    @Option(help: "Regulator certificate, for checking receipts.") var regulatorCert: String =
        "certs/generated/regulator.pem"
    @Option(help: "Regulator key.") var regulatorKey: String = "certs/generated/regulator-key.pem"
    @OptionGroup var connection: ConnectionOptions

    final class Tally: Sendable {
        let served = Mutex<[String: Int]>([:])
        let errors = Mutex<[String: Int]>([:])
        let receipts = Mutex<[(UInt64, [UInt8])]>([])
        let latency = Mutex(
            Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
        )
        let warmRSS = Mutex<Double?>(nil)
    }

    static func rss(_ serverPid: Int32?) -> Double? {
        guard let serverPid else { return nil }
        let bytes = ProcessMemory.residentBytes(pid: serverPid)
        return bytes > 0 ? Double(bytes) / 1_048_576 : nil
    }

    func run() async throws {
        do {
            let configuration = try connection.clientConfiguration()
            let a = try ZeroizingBuffer(contentsOfFile: personA, maxBytes: 16 << 20)
            let a2 = try ZeroizingBuffer(contentsOfFile: personA2, maxBytes: 16 << 20)
            let b = try ZeroizingBuffer(contentsOfFile: personB, maxBytes: 16 << 20)
            let noise = (0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 40503) }.withUnsafeBytes {
                ZeroizingBuffer(copying: $0)
            }
            let tally = Tally()
            let clock = ContinuousClock()
            let start = clock.now
            let end = start + .milliseconds(Int(duration * 1000))
            let warm = start + .milliseconds(Int(duration * 200))
            let pid = self.serverPid
            let workers = max(1, connections)

            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<workers {
                    group.addTask {
                        var client = try await SimverifyClient.connect(configuration)
                        var step = worker
                        while clock.now < end {
                            step += 1
                            let kind = step % 10
                            let began = clock.now
                            do {
                                switch kind {
                                case 0, 1, 2, 3:
                                    let result = try await client.verify(
                                        VerificationRequest(
                                            idCardImage: a,
                                            selfieFrames: [kind == 3 ? b : a2],
                                            consentGiven: true
                                        )
                                    )
                                    if let index = result.receiptLeafIndex, let hash = result.receiptLeafHash {
                                        tally.receipts.withLock { $0.append((index, hash)) }
                                    }
                                    if clock.now > warm {
                                        let micros = UInt64(max(1, (clock.now - began).milliseconds * 1000))
                                        _ = tally.latency.withLock { $0.record(micros) }
                                    }
                                    tally.served.withLock { $0["verify \(result.decision.rawValue)", default: 0] += 1 }
                                case 4, 5:
                                    _ = try await client.health()
                                    tally.served.withLock { $0["health", default: 0] += 1 }
                                case 6:
                                    _ = try await client.call(
                                        method: .verify,
                                        payload: ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0x0F])
                                    )
                                case 7:
                                    _ = try await client.verify(
                                        VerificationRequest(idCardImage: noise, selfieFrames: [a], consentGiven: true)
                                    )
                                case 8:
                                    _ = try await client.verify(
                                        VerificationRequest(
                                            idCardImage: a,
                                            selfieFrames: Array(repeating: a, count: 16),
                                            consentGiven: step % 20 == 8
                                        )
                                    )
                                default:
                                    _ = try await client.call(method: MethodID(rawValue: 999), payload: ByteBuffer())
                                }
                            } catch let status as SimverifyClientError {
                                tally.errors.withLock { $0["\(status.code)/\(status.reason)", default: 0] += 1 }
                                if status.code == .unavailable {
                                    await client.close()
                                    client = try await SimverifyClient.connect(configuration)
                                }
                            }
                            if tally.warmRSS.withLock({ $0 }) == nil && clock.now > warm {
                                tally.warmRSS.withLock { $0 = Self.rss(pid) ?? -1 }
                            }
                        }
                        await client.close()
                    }
                }
                try await group.waitForAll()
            }
            let endRSS = Self.rss(pid)

            // Every receipt a client received must be in the log.
            var regulatorConfiguration = configuration
            regulatorConfiguration.certificate = regulatorCert
            regulatorConfiguration.privateKey = regulatorKey
            let regulator = try await SimverifyClient.connect(regulatorConfiguration)
            let receipts = tally.receipts.withLock { $0 }.sorted { $0.0 < $1.0 }
            var lost = 0
            var index = 0
            while index < receipts.count {
                let first = receipts[index].0
                let last = min(first + 999, receipts.last!.0)
                let entries = try await regulator.entries(from: first, to: last + 1)
                while index < receipts.count && receipts[index].0 <= last {
                    let (leaf, hash) = receipts[index]
                    let offset = Int(leaf - first)
                    if offset >= entries.count || MerkleHash.leaf(entries[offset]) != hash { lost += 1 }
                    index += 1
                }
            }
            await regulator.close()

            let served = tally.served.withLock { $0 }
            let errors = tally.errors.withLock { $0 }
            let p99 = Double(tally.latency.withLock { $0.valueAtPercentile(99) }) / 1000
            print(String(format: "soak: %.0f s, %d workers", duration, connections))
            print(
                "calls served: \(served.values.reduce(0, +))  "
                    + served.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            )
            print(
                "errors by class: \(errors.values.reduce(0, +))  "
                    + errors.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            )
            print(String(format: "valid Verify latency p99 %.1f ms (after warm-up)", p99))
            if let warmed = tally.warmRSS.withLock({ $0 }), warmed > 0, let endRSS {
                let growth = (endRSS - warmed) / warmed * 100
                print(
                    String(
                        format: "server RSS %.1f MB after warm-up, %.1f MB at the end: %+.1f%%   target <= 10%%  %@",
                        warmed,
                        endRSS,
                        growth,
                        growth <= 10 ? "ok" : "MISSED"
                    )
                )
            }
            print(
                "audit: \(receipts.count) receipts received, \(lost) missing from the log   target 0  \(lost == 0 ? "ok" : "MISSED")"
            )
            if lost > 0 { throw ExitCode(1) }
        } catch let error as ExitCode {
            throw error
        } catch {
            reportAndExit(error)
        }
    }
}
