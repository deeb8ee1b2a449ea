import Foundation
import SimverifyAudit
import SimverifyClient
import SimverifyCore
import SimverifyServer
import SimverifyWire
import Testing

@Suite("Abuse limits", .serialized)
struct AbuseLimitTests {
    @Test func tokenBucketsRefuseBurstsAndRefillWithTime() {
        let buckets = TokenBuckets(rate: 2, burst: 3)
        let start = ContinuousClock.now
        #expect((0..<3).allSatisfy { _ in buckets.take("a", now: start) })
        #expect(!buckets.take("a", now: start))
        #expect(buckets.take("b", now: start), "keys are independent")
        #expect(!buckets.take("a", now: start + .milliseconds(400)))
        #expect(buckets.take("a", now: start + .milliseconds(600)))
        #expect(
            (0..<3).allSatisfy { _ in buckets.take("a", now: start + .seconds(10)) },
            "refilled to the burst, no more"
        )
        #expect(!buckets.take("a", now: start + .seconds(10)))
        let off = TokenBuckets(rate: 0, burst: 1)
        #expect((0..<1000).allSatisfy { _ in off.take("x") })
    }

    /// Three replicas behind a balancer, each configured with `limits.replicas: 3`: a tenant's
    /// calls spread over them are admitted up to the configured burst in total, not three times it,
    /// while each terminal keeps its whole limit on the replica its connection is on.
    @Test func replicasShareTheTenantLimitAndKeepTheTerminalLimitWhole() async throws {
        var limits = ServerConfiguration.ConnectionLimits()
        limits.tenantCallsPerSecond = 1e-6  // no refill during the test
        limits.tenantBurst = 6
        limits.terminalCallsPerSecond = 1e-6
        limits.terminalBurst = 2
        limits.replicas = 3
        let replicas = try (0..<3).map { _ in try VerificationService.standIn(limits: try .init(limits)) }
        // Six terminals of one tenant, each pinned to one replica (its connection), two calls each.
        var admitted = 0
        for terminal in 0..<6 {
            let caller = try CallerIdentity(tenant: "carrier-a", role: .counter, terminal: "store-000\(terminal)")
            for _ in 0..<2 {
                do {
                    try await replicas[terminal % 3].checkRate(.verify, caller: caller)
                    admitted += 1
                } catch let error as ServiceError {
                    #expect(error.reason == .rateLimited)
                }
            }
        }
        #expect(admitted == 6, "the tenant's burst of 6 across three replicas")
        // Another tenant is untouched; a terminal's third call on its replica is over its own limit.
        let other = try CallerIdentity(tenant: "carrier-b", role: .counter, terminal: "store-0001")
        try await replicas[0].checkRate(.verify, caller: other)
        try await replicas[0].checkRate(.verify, caller: other)
        await #expect(throws: ServiceError.self) { try await replicas[0].checkRate(.verify, caller: other) }

        limits.replicas = 0
        #expect(throws: SimverifyError.self) { _ = try VerificationService.CallLimits(limits) }
    }

    @Test func aTerminalOverItsRateIsRefusedAndRecordedWhileOthersAreServed() async throws {
        // One token a million seconds: however slow the machine, no token comes back during the
        // test, so the third call is over the limit by construction (refill is tested above on
        // an injected clock).
        let server = try await TestServer {
            $0.limits.terminalCallsPerSecond = 1e-6
            $0.limits.terminalBurst = 2
        }
        let counter = try await server.client()
        let photo = try TestJPEG.bytes(Paths.face("london_001__neutral.jpg"))
        let request = VerificationRequest(idCardImage: photo, selfieFrames: [photo], consentGiven: true)
        _ = try await counter.verify(request)
        _ = try await counter.verify(request)
        do {
            _ = try await counter.verify(request)
            Issue.record("a third call within the burst window was served")
        } catch {
            let status = error
            #expect(status.code == .resourceExhausted && status.reason == "rate_limited")
        }
        let other = try await server.client("counter-carrier-b-store-0001")
        #expect(try await other.verify(request).decision == .approved, "another terminal is not slowed")
        let records = try await server.audit.entries(from: 0, to: await server.audit.size).map {
            try AuditRecord(encoded: $0)
        }
        #expect(
            records.contains {
                $0.event == .limitExceeded && $0.terminal == "store-0001" && $0.tenant == "carrier-a"
                    && $0.detail == "rate:terminal:Verify"
            }
        )
        await counter.close()
        await other.close()
        await server.stop()
    }

    @Test func theRealServerEnforcesItsConfiguredRateLimit() async throws {
        let pki = try TestPKI()
        try ServerSecrets.writeDevelopmentKeys(to: pki.directory + "/keys.json", origin: "simverify.test/limits")
        let config = pki.directory + "/config.json"
        try Data(
            """
            {"port": 0, "metrics": {"port": 0}, "tls": {"certificate": "server.pem", "privateKey": "server-key.pem", "clientCA": "ca.pem"},
             "limits": {"terminalCallsPerSecond": 0.000001, "terminalBurst": 1}, "policy": {"livenessRequired": false},
             "audit": {"databasePath": "audit.sqlite", "keysPath": "keys.json"}}
            """.utf8
        ).write(to: URL(fileURLWithPath: config))
        let server = try await ServerProcess(directory: pki.directory, config: config)
        var configuration = pki.client("counter-carrier-a-store-0001")
        configuration.port = server.port
        let client = try await SimverifyClient.connect(configuration)
        let photo = try TestJPEG.bytes(Paths.face("london_001__neutral.jpg"))
        let request = VerificationRequest(idCardImage: photo, selfieFrames: [photo], consentGiven: true)
        #expect(try await client.verify(request).decision == .approved)
        do {
            _ = try await client.verify(request)
            Issue.record("simverify serve did not apply its configured rate limit")
        } catch {
            let status = error
            #expect(status.reason == "rate_limited")
        }
        await client.close()
        #expect(await server.stop() == 0)
    }

    @Test func connectionsPerCertificateAreCapped() async throws {
        let server = try await TestServer { $0.limits.maxConnectionsPerCertificate = 2 }
        let first = try await server.client()
        let second = try await server.client()
        #expect(try await first.health().serving)
        #expect(try await second.health().serving)
        do {
            let third = try await server.client()
            _ = try await third.health(deadline: .seconds(3))
            Issue.record("a third connection for the same certificate was served")
        } catch {
            let status = try #require(error as? SimverifyClientError, "\(error)")
            #expect(status.code == .unavailable)
        }
        #expect(try await server.client("backend-carrier-a").health().serving, "other certificates are not affected")
        await first.close()
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await server.client().health().serving, "a closed connection frees its place")
        await second.close()
        await server.stop()
    }
}
