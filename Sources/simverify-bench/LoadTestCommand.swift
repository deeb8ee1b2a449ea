import ArgumentParser
import Foundation
import Histogram
import Logging
import SimverifyClient
import SimverifyCommandSupport
import SimverifyConnectionOptions
import SimverifyCore
import SimverifyFaceEngine
import SimverifyWire

struct LoadTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load a running server: latency percentiles and throughput, or idle-connection memory.",
        discussion: """
            --method health|verify sends --requests calls with --concurrency in flight over
            --connections connections and prints p50/p90/p99 latency (HdrHistogram) and calls per
            second. With --engine-baseline (verify only) it first measures the face engine's own
            throughput on the same images in this process, with the server's worker count, and
            prints the ratio. --idle-connections N --server-pid PID opens N TLS connections, leaves
            them idle, and prints the server's resident-memory growth. scripts/loadtest.sh runs all three.
            """
    )

    @Option(help: "health or verify.") var method: String = "health"
    @Option(help: "Calls to send.") var requests: Int = 20_000
    @Option(help: "Calls in flight at once.") var concurrency: Int = 32
    @Option(help: "Connections to spread the calls over.") var connections: Int = 4
    @Option(help: "ID-card photo for verify.") var idCard: String?
    @Option(help: "Selfie for verify.") var selfie: String?
    @Flag(help: "Measure the face engine's own throughput first (verify).") var engineBaseline = false
    @Option(help: "Face workers for the engine baseline (the server's count).") var workers: Int?
    @Option(help: "Open this many idle connections and report the server's memory.") var idleConnections: Int?
    @Option(help: "The server's process id, for memory readings.") var serverPid: Int32?
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        do {
            let configuration = try connection.clientConfiguration()
            if let idle = idleConnections {
                try await self.idle(count: idle, configuration: configuration)
                return
            }
            switch method {
            case "health":
                try await self.load(configuration: configuration, name: "Health") { client in
                    _ = try await client.health()
                }
            case "verify": try await self.verifyLoad(configuration: configuration)
            default: throw ValidationError("--method is health or verify")
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            reportAndExit(error)
        }
    }

    private func verifyLoad(configuration: ClientConfiguration) async throws {
        guard let idCard, let selfie else { throw ValidationError("verify needs --id-card and --selfie") }
        let idBytes = try ZeroizingBuffer(contentsOfFile: idCard, maxBytes: 16 << 20)
        let selfieBytes = try ZeroizingBuffer(contentsOfFile: selfie, maxBytes: 16 << 20)
        var baseline: Double?
        if engineBaseline {
            baseline = try await self.engineThroughput(idCard: idBytes, selfie: selfieBytes)
        }
        let request = VerificationRequest(
            idCardImage: idBytes,
            selfieFrames: [selfieBytes],
            consentGiven: true,
            consentTextVersion: "loadtest"
        )
        let throughput = try await self.load(configuration: configuration, name: "Verify") { client in
            let result = try await client.verify(request)
            guard result.decision == .approved || result.decision == .rejected else {
                throw SimverifyClientError(.internal, "unexpected decision \(result.decision.rawValue)")
            }
        }
        if let baseline {
            print(
                String(
                    format: "engine alone       %.1f verifications/s (same images, same work, %d workers)",
                    baseline,
                    workers ?? ProcessInfo.processInfo.activeProcessorCount
                )
            )
            print(
                String(
                    format: "through the server %.1f verifications/s = %.1f%% of the engine   target >= 90%%  %@",
                    throughput,
                    100 * throughput / baseline,
                    throughput / baseline >= 0.9 ? "ok" : "MISSED"
                )
            )
        }
    }

    /// The engine's own verifications per second: the same batch the server runs per Verify.
    private func engineThroughput(idCard: ZeroizingBuffer, selfie: ZeroizingBuffer) async throws -> Double {
        var configuration = FaceEngineConfiguration()
        if let workers { configuration.workers = workers }
        configuration.maxQueuedJobs = 4 * configuration.workers
        let engine = try FaceEngine(configuration: configuration, logger: Logger(label: "loadtest"))
        let batch: [FaceEngine.BatchItem] = [.init(jpeg: idCard, kind: .idCard), .init(jpeg: selfie, kind: .selfie)]
        let jobs = min(requests, 400)
        for _ in 0..<engine.workerCount { _ = try await engine.analyze(batch: batch) }  // warm-up
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            var submitted = 0
            for _ in 0..<min(concurrency, jobs) {
                submitted += 1
                group.addTask { _ = try await engine.analyze(batch: batch) }
            }
            while try await group.next() != nil {
                if submitted < jobs {
                    submitted += 1
                    group.addTask { _ = try await engine.analyze(batch: batch) }
                }
            }
        }
        let seconds = (clock.now - start).milliseconds / 1000
        await engine.shutdown()
        return Double(jobs) / seconds
    }

    /// Runs `requests` calls with `concurrency` in flight; prints latency percentiles and throughput.
    @discardableResult
    private func load(
        configuration: ClientConfiguration,
        name: String,
        _ call: @escaping @Sendable (SimverifyClient) async throws -> Void
    ) async throws -> Double {
        var clients: [SimverifyClient] = []
        for _ in 0..<max(1, connections) { clients.append(try await SimverifyClient.connect(configuration)) }
        for client in clients { try await call(client) }  // warm-up: handshakes done, code paths hot
        let pool = clients
        let total = requests
        let clock = ContinuousClock()
        let start = clock.now
        let (histogram, failuresByReason) = try await withThrowingTaskGroup(of: (Histogram<UInt64>, [String: Int]).self)
        { group in
            let perWorker = total / max(1, concurrency)
            let extra = total % max(1, concurrency)
            for worker in 0..<max(1, concurrency) {
                let client = pool[worker % pool.count]
                let count = perWorker + (worker < extra ? 1 : 0)
                group.addTask {
                    var histogram = Histogram<UInt64>(
                        highestTrackableValue: 60_000_000,
                        numberOfSignificantValueDigits: .three
                    )
                    var failures: [String: Int] = [:]
                    let clock = ContinuousClock()
                    for _ in 0..<count {
                        let begin = clock.now
                        do {
                            try await call(client)
                        } catch let status as SimverifyClientError {
                            failures["\(status.code)/\(status.reason)", default: 0] += 1
                        } catch {
                            failures["\(type(of: error))", default: 0] += 1
                        }
                        let micros = (clock.now - begin).milliseconds * 1000
                        _ = histogram.record(UInt64(max(1, micros)))
                    }
                    return (histogram, failures)
                }
            }
            var merged = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
            var failed: [String: Int] = [:]
            for try await (part, failures) in group {
                merged.add(part)
                failed.merge(failures, uniquingKeysWith: +)
            }
            return (merged, failed)
        }
        let failures = failuresByReason.values.reduce(0, +)
        let seconds = (clock.now - start).milliseconds / 1000
        for client in clients { await client.close() }
        let throughput = Double(total - failures) / seconds
        func ms(_ p: Double) -> Double { Double(histogram.valueAtPercentile(p)) / 1000 }
        print(
            String(
                format: "%@: %d calls, %d failed, %d in flight over %d connections, %.2f s",
                name,
                total,
                failures,
                concurrency,
                connections,
                seconds
            )
        )
        print(
            String(
                format: "  latency p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms",
                ms(50),
                ms(90),
                ms(99),
                Double(histogram.max) / 1000
            )
        )
        print(String(format: "  throughput %.0f calls/s", throughput))
        for (reason, count) in failuresByReason.sorted(by: { $0.key < $1.key }) {
            print("  failed: \(count) × \(reason)")
        }
        if name == "Health" {
            print(
                String(
                    format: "  target >= 20000 calls/s with 32 in flight  %@",
                    throughput >= 20_000 ? "ok" : "MISSED"
                )
            )
        }
        return throughput
    }

    private func idle(count: Int, configuration: ClientConfiguration) async throws {
        guard let serverPid else { throw ValidationError("--idle-connections needs --server-pid") }
        func rss() -> Double { Double(ProcessMemory.residentBytes(pid: serverPid)) / 1_048_576 }
        let before = rss()
        var clients: [SimverifyClient] = []
        for _ in 0..<count {
            let client = try await SimverifyClient.connect(configuration)
            _ = try await client.health()
            clients.append(client)
        }
        try await Task.sleep(for: .seconds(2))
        let after = rss()
        print(
            String(
                format:
                    "idle connections: %d open; server RSS %.1f MB before, %.1f MB after: +%.1f MB (%.1f KB each)   target <= 50 MB  %@",
                count,
                before,
                after,
                after - before,
                (after - before) * 1024 / Double(count),
                after - before <= 50 ? "ok" : "MISSED"
            )
        )
        for client in clients { await client.close() }
    }
}
