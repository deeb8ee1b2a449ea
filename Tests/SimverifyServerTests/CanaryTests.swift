import Foundation
import SimverifyAudit
import SimverifyClient
import SimverifyCore
import SimverifyServer
import SimverifyWire
import Testing

/// DESIGN.md invariants 1 and 2, end to end: images carrying a unique marker go through the real
/// server over TLS; afterwards no copy of the marker is in its log, its data directory, its audit
/// entries, or anywhere in its readable memory.
@Suite("Canary: no image byte outlives its request", .serialized)
struct CanaryTests {
    /// A fixture JPEG with a COM segment holding `marker` right after SOI.
    static func marked(_ name: String, marker: [UInt8]) throws -> [UInt8] {
        PrivacyCanary.marked(jpeg: try TestJPEG.bytes(Paths.face(name)).withUnsafeBytes { Array($0) }, marker: marker)
    }

    /// Every place a pattern occurs in the readable memory of process `pid`: "address (region)".
    static func occurrences(of patterns: [[UInt8]], inProcess pid: Int32) throws -> [String] {
        let scan = try PrivacyCanary.scanMemory(ofProcess: pid, for: patterns)
        #expect(scan.scanned > 10 << 20, "the scan read the process's memory (\(scan.scanned) bytes)")
        return scan.hits
    }

    @Test func theMarkerIsNowhereAfterTheRequests() async throws {
        let pki = try TestPKI()
        let directory = pki.directory
        try ServerSecrets.writeDevelopmentKeys(to: directory + "/keys.json", origin: "simverify.test/canary")
        let config = directory + "/config.json"
        try Data(
            """
            {"port": 0, "metrics": {"port": 0}, "tls": {"certificate": "server.pem", "privateKey": "server-key.pem", "clientCA": "ca.pem"},
             "policy": {"livenessRequired": false}, "engine": {"workers": 2}, "audit": {"databasePath": "data/audit.sqlite", "keysPath": "keys.json"}}
            """.utf8
        ).write(to: URL(fileURLWithPath: config))
        let server = try await ServerProcess(directory: directory, config: config)
        // Hardened before any image arrives: no core files, not dumpable, freed memory scrubbed.
        let limits = try String(contentsOfFile: "/proc/\(server.process.processIdentifier)/limits", encoding: .utf8)
        let core = limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") }.map {
            $0.split(separator: " ", omittingEmptySubsequences: true)
        }
        #expect(core.map { $0[4] == "0" && $0[5] == "0" } == true, "RLIMIT_CORE is 0")
        let log = try String(contentsOfFile: server.log, encoding: .utf8)
        #expect(
            log.contains("not_dumpable=true") && log.contains("no_core_files=true")
                && log.contains("freed_memory_scrubbed=true")
        )
        let marker = Array("SIMVERIFY-CANARY-\(UUID().uuidString)".utf8)
        let idCard = try Self.marked("obama__2012_official_portrait.jpg", marker: marker)
        let selfie = try Self.marked("obama__2009_congress_address.jpg", marker: marker)
        // A liveness burst too: every frame marked.
        let burst = try Paths.burst("live_turn_right_look_up").map {
            PrivacyCanary.marked(jpeg: $0.withUnsafeBytes { Array($0) }, marker: marker)
        }
        let patterns = [marker] + ([idCard, selfie] + burst).compactMap(PrivacyCanary.compressedPattern(of:))
        #expect(patterns.count == 3 + burst.count)
        func buffer(_ bytes: [UInt8]) -> ZeroizingBuffer { bytes.withUnsafeBytes { ZeroizingBuffer(copying: $0) } }

        var counterConfig = pki.client("counter-carrier-a-store-0001")
        counterConfig.port = server.port
        var backendConfig = pki.client("backend-carrier-a")
        backendConfig.port = server.port
        let counter = try await SimverifyClient.connect(counterConfig)
        let backend = try await SimverifyClient.connect(backendConfig)
        let decided = try await counter.verify(
            VerificationRequest(
                idCardImage: buffer(idCard),
                selfieFrames: [buffer(selfie)],
                subject: SubjectReferences(nationalID: "880808-1234567"),
                consentGiven: true
            )
        )
        #expect(decided.decision == .approved)
        let session = try await counter.startSession()
        let live = try await counter.verify(
            VerificationRequest(
                idCardImage: buffer(idCard),
                selfieFrames: burst.map(buffer),
                consentGiven: true,
                sessionToken: session.token
            )
        )
        #expect(live.decision != .fallback, "the burst was analysed (\(live.decision))")
        let template = try await backend.extractTemplate(idCardImage: buffer(idCard))
        #expect(
            try await backend.verify(
                VerificationRequest(
                    idCardImage: nil,
                    selfieFrames: [buffer(selfie)],
                    consentGiven: true,
                    sealedTemplate: template.bytes
                )
            ).decision == .approved
        )
        await #expect(throws: SimverifyClientError.self) {
            _ = try await counter.verify(
                VerificationRequest(
                    idCardImage: buffer(Array(idCard.prefix(idCard.count / 2))),
                    selfieFrames: [buffer(selfie)],
                    consentGiven: true
                )
            )
        }
        #expect(
            !template.bytes.windows(32).contains { patterns.contains($0) },
            "the sealed template holds no image byte"
        )
        // While the connections are still open: no per-connection buffer may keep the request either.
        // Kept means still there once the server has finished with the answered calls: on a busy
        // machine that takes longer than the 300 ms first allowed (a clean-clone CI run beside the
        // other suites once found a burst's bytes at 300 ms), so the scan repeats for up to 10 s;
        // a buffer that keeps the request keeps it for as long as the connection lives.
        var whileOpen: [String] = []
        let patience = ContinuousClock.now + .seconds(10)
        repeat {
            try await Task.sleep(for: .milliseconds(300))
            whileOpen = try Self.occurrences(of: patterns, inProcess: server.process.processIdentifier)
        } while !whileOpen.isEmpty && ContinuousClock.now < patience
        #expect(whileOpen.isEmpty, "image bytes held by open connections at: \(whileOpen.prefix(10))")
        await counter.close()
        await backend.close()
        try await Task.sleep(for: .milliseconds(500))

        // The server's log and every file it wrote (audit database, WAL, keys): no marker.
        let holding = PrivacyCanary.files(under: directory, holding: patterns)
        #expect(holding.isEmpty, "\(holding) hold a copy of an image")
        // The whole readable memory of the server process.
        let hits = try Self.occurrences(of: patterns, inProcess: server.process.processIdentifier)
        #expect(hits.isEmpty, "image bytes survive in the server's memory at: \(hits.prefix(10))")
        #expect(await server.stop() == 0)
    }
}

extension Array where Element == UInt8 {
    func windows(_ n: Int) -> [[UInt8]] {
        count < n ? [] : (0...(count - n)).map { Array(self[$0..<($0 + n)]) }
    }
}
