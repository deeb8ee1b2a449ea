import CSimverifyJPEGTestSupport
import Foundation
import NIOCore
import SimverifyAudit
import SimverifyClient
import SimverifyCore
import SimverifyFaceEngine
import SimverifyProto
import SimverifyServer
import SimverifyWire
import Synchronization
import Testing

/// Every bad-input class, sent to one server while another connection keeps asking for Health:
/// each gets its documented answer, the other caller keeps being served, and memory stays bounded.
/// The server is the real binary in its own process, so its memory is its own (other suites run
/// beside this one in the test process).
@Suite("Bad-input suite", .serialized)
struct BadInputSuiteTests {
    static func residentBytes(pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0) * 1024
    }

    static func payload(_ build: (inout Simverify_V1_VerifyRequest) -> Void) throws -> ByteBuffer {
        var request = Simverify_V1_VerifyRequest()
        request.consent.given = true
        build(&request)
        return ByteBuffer(bytes: try request.serializedBytes() as [UInt8])
    }

    static func jpegVariant(_ mode: svt_jpeg_mode) throws -> Data {
        let image = try JPEGDecoderHelper.decode(Paths.face("london_005__neutral.jpg"))
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        let crop = 64
        var pixels = [UInt8](repeating: 0, count: crop * crop * 3)
        image.withUnsafeBytes { source in
            for y in 0..<crop {
                for x in 0..<(crop * 3) { pixels[y * crop * 3 + x] = source[(200 + y) * 600 * 3 + 600 + x] }
            }
        }
        guard svt_jpeg_encode(pixels, UInt32(crop), UInt32(crop), Int32(mode.rawValue), 90, &out, &size) == 0, let out
        else { throw TestError("encode") }
        defer { svt_jpeg_free(out) }
        return Data(bytes: out, count: size)
    }

    @Test func everyClassGetsItsAnswerAndNobodyElseSuffers() async throws {
        let pki = try TestPKI()
        try ServerSecrets.writeDevelopmentKeys(to: pki.directory + "/keys.json", origin: "simverify.test/bad-input")
        let config = pki.directory + "/config.json"
        // One terminal sends every request: rate limits off, as in TestServer.
        try Data(
            """
            {"port": 0, "metrics": {"port": 0}, "tls": {"certificate": "server.pem", "privateKey": "server-key.pem", "clientCA": "ca.pem"},
             "policy": {"livenessRequired": false}, "engine": {"workers": 2}, "limits": {"tenantCallsPerSecond": 0, "terminalCallsPerSecond": 0},
             "audit": {"databasePath": "data/audit.sqlite", "sessionDatabasePath": "data/sessions.sqlite", "keysPath": "keys.json"}}
            """.utf8
        ).write(to: URL(fileURLWithPath: config))
        let server = try await ServerProcess(directory: pki.directory, config: config)
        func client(_ name: String) async throws -> SimverifyClient {
            var configuration = pki.client(name)
            configuration.port = server.port
            return try await SimverifyClient.connect(configuration)
        }
        let counter = try await client("counter-carrier-a-store-0001")
        let bystander = try await client("backend-carrier-a")
        let face = try Data(contentsOf: URL(fileURLWithPath: Paths.face("london_005__neutral.jpg")))
        let goodJPEG = Array(face)
        var truncated = goodJPEG
        truncated.removeLast(goodJPEG.count / 2)
        var huge = goodJPEG
        let sof = (2..<(huge.count - 1)).first { huge[$0] == 0xFF && huge[$0 + 1] == 0xC0 }!
        huge.replaceSubrange((sof + 5)..<(sof + 9), with: [0xEA, 0x60, 0xEA, 0x60])
        let manyScans = try Self.jpegVariant(SVT_JPEG_MANY_SCANS)
        let noise = Data((0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) })

        // (name, payload, expected status code, expected reason)
        let cases: [(String, ByteBuffer, SimverifyClientError.Code, String)] = [
            (
                "100 frames",
                try Self.payload {
                    $0.idCardImage = face
                    $0.selfieFrames = Array(repeating: face, count: 100)
                }, .invalidArgument, "too_many_frames"
            ),
            (
                "100,000 empty repeated frames",
                try Self.payload {
                    $0.idCardImage = face
                    $0.selfieFrames = Array(repeating: Data(), count: 100_000)
                }, .invalidArgument, "too_many_frames"
            ),
            (
                "4 MiB of noise as ID card",
                try Self.payload {
                    $0.idCardImage = noise
                    $0.selfieFrames = [face]
                }, .invalidArgument, "id_card_image.not_jpeg"
            ),
            (
                "4 MiB of noise as selfie",
                try Self.payload {
                    $0.idCardImage = face
                    $0.selfieFrames = [noise]
                }, .invalidArgument, "selfie_frames[0].not_jpeg"
            ),
            (
                "truncated JPEG",
                try Self.payload {
                    $0.idCardImage = Data(truncated)
                    $0.selfieFrames = [face]
                }, .invalidArgument, "id_card_image.truncated_image"
            ),
            (
                "60000x60000 header",
                try Self.payload {
                    $0.idCardImage = face
                    $0.selfieFrames = [Data(huge)]
                }, .invalidArgument, "selfie_frames[0].image_too_large"
            ),
            (
                "2,560 progressive scans",
                try Self.payload {
                    $0.idCardImage = face
                    $0.selfieFrames = [manyScans]
                }, .invalidArgument, "selfie_frames[0].too_many_scans"
            ),
            (
                "empty image",
                try Self.payload {
                    $0.idCardImage = face
                    $0.selfieFrames = [Data([0])]
                }, .invalidArgument, "selfie_frames[0].not_jpeg"
            ),
            (
                "control characters in an identifier",
                try Self.payload {
                    $0.idCardImage = face
                    $0.selfieFrames = [face]
                    $0.subject.nationalID = "9001\u{1B}[2J01"
                }, .invalidArgument, "malformed_identifier"
            ),
            (
                "identifier too long",
                try Self.payload {
                    $0.idCardImage = face
                    $0.selfieFrames = [face]
                    $0.subject.iccid = String(repeating: "1", count: 500)
                }, .invalidArgument, "malformed_identifier"
            ),
            (
                "several frames without a session",
                try Self.payload {
                    $0.idCardImage = face
                    $0.selfieFrames = [face, face]
                }, .failedPrecondition, "session_required"
            ),
            (
                "a session with too few frames",
                try Self.payload {
                    $0.idCardImage = face
                    $0.selfieFrames = [face, face]
                    $0.sessionToken = "svs1.AAAA"
                }, .invalidArgument, "too_few_frames"
            ),
            (
                "a forged session token",
                try Self.payload {
                    $0.idCardImage = face
                    $0.selfieFrames = Array(repeating: face, count: 5)
                    $0.sessionToken = "svs1." + String(repeating: "A", count: 120)
                }, .invalidArgument, "session_invalid"
            ),
            (
                "a 100 KB session token",
                try Self.payload {
                    $0.idCardImage = face
                    $0.selfieFrames = Array(repeating: face, count: 5)
                    $0.sessionToken = String(repeating: "x", count: 100_000)
                }, .invalidArgument, "session_invalid"
            ),
            (
                "frame times not one per frame",
                try Self.payload {
                    $0.idCardImage = face
                    $0.selfieFrames = [face]
                    $0.frameTimesMs = [0, 10, 20]
                }, .invalidArgument, "frame_times_mismatch"
            ),
        ]
        // Raw protobuf that no generated type accepts.
        var invalidUTF8 = ByteBuffer(
            bytes: try Self.payload {
                $0.idCardImage = face
                $0.selfieFrames = [face]
            }.readableBytesView
        )
        invalidUTF8.writeBytes([0x2A, 0x04, 0x0A, 0x02, 0xC3, 0x28])  // subject { national_id: 0xC3 0x28 }
        var hugeLength = ByteBuffer()
        hugeLength.writeBytes([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x01, 0x02])  // id_card_image claims 2 GiB
        let raw: [(String, ByteBuffer, SimverifyClientError.Code, String)] = [
            ("invalid UTF-8 in an identifier", invalidUTF8, .invalidArgument, "malformed_payload"),
            ("a field declaring 2 GiB", hugeLength, .invalidArgument, "malformed_payload"),
        ]

        let stop = Atomic<Bool>(false)
        let bystanderCalls = Atomic<Int>(0)
        let bystanderFailures = Atomic<Int>(0)
        let watcher = Task {
            while !stop.load(ordering: .relaxed) {
                do {
                    _ = try await bystander.health(deadline: .seconds(5))
                    bystanderCalls.add(1, ordering: .relaxed)
                } catch { bystanderFailures.add(1, ordering: .relaxed) }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        let before = Self.residentBytes(pid: server.process.processIdentifier)
        for round in 0..<3 {
            for (name, payload, code, reason) in cases + raw {
                do {
                    _ = try await counter.call(method: .verify, payload: payload, deadline: .seconds(20))
                    Issue.record("\(name) was accepted")
                } catch {
                    let status = error
                    #expect(
                        status.code == code && status.reason.rawValue == reason,
                        "round \(round), \(name): \(status)"
                    )
                }
            }
        }
        // Decisions, not errors: no face on the ID card, two faces in the selfie.
        let blank = try TestJPEG.blank()
        #expect(
            try await counter.verify(
                VerificationRequest(
                    idCardImage: blank,
                    selfieFrames: [try TestJPEG.bytes(Paths.face("london_005__neutral.jpg"))],
                    consentGiven: true
                )
            ).reasons == [.noFaceOnIDCard]
        )
        #expect(
            try await counter.verify(
                VerificationRequest(
                    idCardImage: try TestJPEG.bytes(Paths.face("london_001__smiling.jpg")),
                    selfieFrames: [try TestJPEG.twoFaces()],
                    consentGiven: true
                )
            ).reasons == [.severalFacesInSelfie]
        )
        let grown = Self.residentBytes(pid: server.process.processIdentifier) - before
        stop.store(true, ordering: .relaxed)
        await watcher.value
        #expect(
            bystanderFailures.load(ordering: .relaxed) == 0 && bystanderCalls.load(ordering: .relaxed) > 5,
            "the other caller was served throughout"
        )
        #expect(grown < 200 << 20, "memory stayed bounded: grew \(grown >> 20) MiB over 36 bad requests")
        #expect(try await counter.health().serving, "the bad caller's own connection still works")
        await counter.close()
        await bystander.close()
        _ = await server.stop()
    }
}

/// Decoding helper for building variants.
enum JPEGDecoderHelper {
    static func decode(_ path: String) throws -> [UInt8] {
        let image = try SimverifyFaceEngine.JPEGDecoder().decode(try TestJPEG.bytes(path))
        return image.pixels.withUnsafeBytes { Array($0) }
    }
}
