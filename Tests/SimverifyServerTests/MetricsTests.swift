import Foundation
import Logging
import NIOCore
import NIOPosix
import SimverifyClient
import SimverifyCore
import Synchronization
import Testing

@testable import SimverifyServer

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The operator listener, scraped over HTTP while a server takes Verify calls over mutual TLS.
@Suite("Operator metrics", .serialized)
struct MetricsTests {
    static func get(_ port: Int, _ path: String = "/metrics") async throws -> (Int, String) {
        let url = try #require(URL(string: "http://127.0.0.1:\(port)\(path)"))
        let (data, response) = try await URLSession.shared.data(from: url)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// The value of the sample whose line starts with `series` (name and labels as printed).
    static func value(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    static func face(_ name: String) throws -> ZeroizingBuffer { try TestJPEG.bytes(Paths.face(name)) }

    @Test func metricsAreScrapedDuringLoadAndNameNoCaller() async throws {
        let server = try await TestServer(metrics: true)
        let port = try #require(await server.operatorServer?.waitUntilListening())
        let backend = try await server.client("backend-carrier-a")
        let card = try Self.face("obama__2012_official_portrait.jpg")
        let selfies = [
            try Self.face("obama__2009_congress_address.jpg"),  // the same person
            try Self.face("london_001__neutral.jpg"),  // another
            try TestJPEG.blank(),  // no face
        ]
        let subject = SubjectReferences(nationalID: "900101-1234567", msisdn: "010-1234-5678")
        // Load: 12 Verify calls from four tasks, scraped while they run.
        let finished = Flag()
        let load = Task {
            defer { finished.value.store(true, ordering: .releasing) }
            try await withThrowingTaskGroup(of: Decision.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var last = Decision.retry
                        for round in 0..<3 {
                            last = try await backend.verify(
                                VerificationRequest(
                                    idCardImage: card,
                                    selfieFrames: [selfies[(worker + round) % 3]],
                                    subject: subject,
                                    consentGiven: true,
                                    consentTextVersion: "test-1"
                                )
                            ).decision
                        }
                        return last
                    }
                }
                return try await group.reduce(into: [Decision]()) { $0.append($1) }
            }
        }
        var scrapesDuringLoad = 0
        while !finished.value.load(ordering: .acquiring) || scrapesDuringLoad == 0 {
            let (status, text) = try await Self.get(port)
            #expect(status == 200 && text.contains("simverify_"))
            scrapesDuringLoad += 1
            try await Task.sleep(for: .milliseconds(50))
        }
        _ = try await load.value
        #expect(scrapesDuringLoad >= 1)

        let (status, text) = try await Self.get(port)
        #expect(status == 200)
        // Four of each selfie: approved, rejected, retry.
        #expect(Self.value(text, #"simverify_decisions_total{decision="APPROVED"}"#) == 4)
        #expect(Self.value(text, #"simverify_decisions_total{decision="REJECTED"}"#) == 4)
        #expect(Self.value(text, #"simverify_decisions_total{decision="RETRY"}"#) == 4)
        #expect(
            Self.value(text, #"simverify_decision_reasons_total{decision="RETRY",reason="NO_FACE_IN_SELFIE"}"#) == 4
        )
        #expect(Self.value(text, #"simverify_calls_total{method="Verify",status="ok"}"#) == 12)
        for stage in ["decode", "detect", "embed", "audit_append"] {
            let count = Self.value(text, #"simverify_stage_duration_seconds_count{stage="\#(stage)"}"#) ?? 0
            #expect(count >= 12, "stage \(stage)")
        }
        #expect(Self.value(text, #"simverify_call_duration_seconds_count{method="Verify"}"#) == 12)
        #expect(Self.value(text, #"simverify_engine_jobs{state="busy"}"#) != nil)
        #expect(Self.value(text, #"simverify_engine_jobs{state="waiting"}"#) != nil)
        let entries = await server.audit.size
        #expect(Self.value(text, "simverify_audit_log_entries") == Double(entries))
        #expect(Self.value(text, "simverify_audit_checkpoint_age_seconds") != nil)

        // A refused certificate is a handshake failure, by reason; still nothing about the caller.
        let identity = try CallerIdentity(tenant: "carrier-a", role: .counter, terminal: "store-0001")
        let foreign = try server.pki.write(try server.pki.untrusted.issueClient(identity), as: "foreign")
        _ = try? await server.connect(foreign).health(deadline: .seconds(3))
        var failures: Double?
        for _ in 0..<50 where failures == nil {
            failures = Self.value(try await Self.get(port).1, #"simverify_handshake_failures_total{reason="tls"}"#)
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(failures == 1)

        // No label names a tenant, terminal, identifier or anything a client chose.
        let final = try await Self.get(port).1
        for secret in ["carrier-a", "store-0001", "900101", "1234567", "010-1234", "backend"] {
            #expect(!final.contains(secret), "\(secret) in the metrics")
        }
        #expect(try await Self.get(port, "/other").0 == 404)
        await backend.close()
        await server.stop()
    }
}

extension MetricsTests {
    /// curl against the operator listener over HTTPS: (its exit status, the HTTP status it saw,
    /// the body). `identity` names a client certificate of the test PKI; nil presents none. Run
    /// through `PythonClientTests.run`, which does not block a cooperative thread the server needs.
    static func curl(_ server: TestServer, port: Int, identity: String?) async throws -> (Int32, Int, String) {
        var arguments = ["-s", "--max-time", "10", "--cacert", server.pki.path("ca.pem"), "-w", "\n%{http_code}"]
        if let identity {
            arguments += [
                "--cert", server.pki.path("\(identity).pem"), "--key", server.pki.path("\(identity)-key.pem"),
            ]
        }
        let (status, text) = try await PythonClientTests.run(
            "/usr/bin/curl",
            arguments + ["https://127.0.0.1:\(port)/metrics"]
        )
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return (status, Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    /// A scraper waiting for its answer is not idle: a refresh slower than the idle time (as a
    /// busy concurrency pool makes it) still answers, while a silent connection is closed.
    @Test func aSlowAnswerIsNotCutByTheIdleTimeout() async throws {
        let (_, registry) = ServiceMetrics.prometheus()
        let listener = try OperatorServer(
            host: "127.0.0.1",
            port: 0,
            registry: registry,
            logger: Logger(label: "test-operator"),
            idleTimeout: .milliseconds(300)
        ) { try? await Task.sleep(for: .milliseconds(1500)) }
        let task = Task { try await listener.run() }
        let port = try #require(await listener.waitUntilListening())
        let (status, _) = try await Self.get(port)
        #expect(status == 200)
        // A connection that says nothing is still closed after the idle time.
        let silent = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port).get()
        // Bounded: after 10 s the test closes it itself, which the elapsed time then shows.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(10))
            try await silent.close()
        }
        let start = ContinuousClock.now
        try? await silent.closeFuture.get()
        #expect(ContinuousClock.now - start < .seconds(5), "the listener closed the silent connection")
        watchdog.cancel()
        task.cancel()
        _ = try? await task.value
    }

    @Test func withMutualTLSOnlyTheOperatorRoleReadsTheMetrics() async throws {
        let server = try await TestServer(metrics: true) { $0.metrics.mutualTLS = true }
        let port = try #require(await server.operatorServer?.waitUntilListening())
        let backend = try await server.client("backend-carrier-a")
        _ = try await backend.health()
        await backend.close()

        let (status, code, body) = try await Self.curl(server, port: port, identity: "operator")
        #expect(status == 0 && code == 200)
        #expect(Self.value(body, #"simverify_calls_total{method="Health",status="ok"}"#) == 1)
        #expect(Self.value(body, "simverify_audit_log_entries") != nil)

        // Every other role of the same CA is refused at the HTTP layer, with nothing of the metrics.
        for identity in ["counter-carrier-a-store-0001", "backend-carrier-a", "regulator"] {
            let (status, code, body) = try await Self.curl(server, port: port, identity: identity)
            #expect(status == 0 && code == 403, "\(identity)")
            #expect(!body.contains("simverify_"), "\(identity)")
        }
        // No certificate: the handshake fails (curl's exit status is not 0, no HTTP status).
        let (anonymous, anonymousCode, _) = try await Self.curl(server, port: port, identity: nil)
        #expect(anonymous != 0 && anonymousCode == 0)
        // Plain HTTP to the TLS listener answers nothing either.
        await #expect(throws: (any Error).self) { _ = try await Self.get(port) }
        await server.stop()
    }
}

final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}
