import Foundation
import NIOCore
import SimverifyAudit
import SimverifyClient
import SimverifyCore
import SimverifyProto
import SimverifyWire
import Testing

/// Each malformed frame gets its documented error or goaway, and the server keeps serving its
/// other connections.
@Suite("Bad frames", .serialized)
struct BadFrameTests {
    static func header(
        _ type: UInt8 = 1,
        version: UInt8 = 1,
        magic: UInt16 = 0x5356,
        method: UInt16 = 1,
        id: UInt32 = 1,
        deadline: UInt32 = 0,
        length: UInt32 = 0
    ) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(magic)
        buffer.writeInteger(version)
        buffer.writeInteger(type)
        buffer.writeInteger(UInt16(0))
        buffer.writeInteger(method)
        buffer.writeInteger(id)
        buffer.writeInteger(deadline)
        buffer.writeInteger(length)
        return buffer
    }

    func raw(_ server: TestServer) async throws -> RawConnection {
        try await RawConnection.connect(server.pki.client("counter-carrier-a-store-0001"), port: server.port)
    }

    /// The server still answers after the bad connection. A generous deadline: beside the other
    /// suites on two cores, a clean-clone run once saw Health exceed its default 5 s here.
    func stillServing(_ server: TestServer) async throws {
        let client = try await server.client()
        #expect(try await client.health(deadline: .seconds(30)).serving)
        await client.close()
    }

    func expectGoaway(_ connection: RawConnection, reason: String, within seconds: Double = 5) async {
        let goaway = await connection.frame(within: seconds) { $0.header.type == .goaway }
        #expect(goaway.flatMap(RawConnection.status).map(\.reason) == reason)
        #expect(await connection.closed(within: seconds))
    }

    @Test(arguments: [
        ("bad_magic", BadFrameTests.header(magic: 0x4745)),
        ("unsupported_version", BadFrameTests.header(version: 9)),
        ("unknown_frame_type", BadFrameTests.header(42)),
        ("unknown_method", BadFrameTests.header(method: 999)),
        ("payload_too_large", BadFrameTests.header(method: 3, length: UInt32(24 << 20) + 1)),
        ("payload_too_large", BadFrameTests.header(method: 1, length: 0xFFFF_FFFF)),
        ("unexpected_frame", BadFrameTests.header(2)),
        // Control frames keep their own rules (an independent client found each unenforced).
        ("bad_control_frame", BadFrameTests.header(5, method: 0, length: 4)),
        ("bad_control_frame", BadFrameTests.header(5, method: 1, length: 8)),
        ("bad_control_frame", BadFrameTests.header(5, method: 0, deadline: 100, length: 8)),
        ("bad_control_frame", BadFrameTests.header(4, method: 3, deadline: 100)),
        ("bad_control_frame", BadFrameTests.header(7, method: 3)),
        ("unknown_method", BadFrameTests.header(4, method: 99)),
    ])
    func headersEndTheConnectionWithAGoaway(reason: String, header: ByteBuffer) async throws {
        let server = try await TestServer()
        let connection = try await self.raw(server)
        // Only the header: an oversized frame is refused before any payload is sent.
        try await connection.send(header)
        await self.expectGoaway(connection, reason: reason)
        try await self.stillServing(server)
        await server.stop()
    }

    @Test func malformedProtobufIsAnErrorAndTheConnectionLives() async throws {
        let server = try await TestServer()
        let connection = try await self.raw(server)
        try await connection.send(
            Frame(
                type: .request,
                method: .verify,
                correlationID: 7,
                payload: ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0x0F, 0x01])
            )
        )
        let error = await connection.frame { $0.header.type == .error && $0.header.correlationID == 7 }
        let status = error.flatMap(RawConnection.status)
        #expect(status?.code == .invalidArgument && status?.reason == "malformed_payload")
        try await connection.send(
            Frame(type: .ping, correlationID: 8, payload: ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8]))
        )
        let pong = await connection.frame { $0.header.type == .pong }
        #expect(
            pong?.header.correlationID == 8
                && pong.map { Array($0.payload.readableBytesView) } == [1, 2, 3, 4, 5, 6, 7, 8]
        )
        await connection.close()
        await server.stop()
    }

    @Test func aTruncatedFrameFollowedBySilenceIsClosed() async throws {
        let server = try await TestServer { $0.limits.frameTimeoutSeconds = 1 }
        let connection = try await self.raw(server)
        var partial = Self.header(method: 3, length: 100_000)
        partial.writeBytes(Array(repeating: 0x0A, count: 10))
        try await connection.send(partial)
        // 1 s plus 100 kB at 64 kB/s: closed well within 5 s.
        await self.expectGoaway(connection, reason: "frame_timeout", within: 6)
        try await self.stillServing(server)
        await server.stop()
    }

    @Test func aTricklingSenderIsClosed() async throws {
        let server = try await TestServer { $0.limits.frameTimeoutSeconds = 1 }
        let connection = try await self.raw(server)
        let frame = Self.header(method: 1)
        let start = ContinuousClock.now
        var sent = 0
        for byte in frame.readableBytesView {
            guard connection.channel.isActive else { break }
            try? await connection.send(ByteBuffer(bytes: [byte]))
            sent += 1
            try await Task.sleep(for: .milliseconds(400))
        }
        #expect(sent < 8, "closed after about a second of trickling")
        #expect(await connection.closed(within: 2))
        #expect(ContinuousClock.now - start < .seconds(6))
        try await self.stillServing(server)
        await server.stop()
    }

    @Test func tooManyConcurrentCallsAreRefusedOneByOne() async throws {
        let server = try await TestServer { $0.limits.maxConcurrentCallsPerConnection = 2 }
        let connection = try await self.raw(server)
        var request = Simverify_V1_VerifyRequest()
        let photo = try TestJPEG.bytes(Paths.face("london_005__neutral.jpg"))
        request.idCardImage = photo.withUnsafeBytes { Data($0) }
        request.selfieFrames = [request.idCardImage]
        request.consent.given = true
        let payload = ByteBuffer(bytes: try request.serializedBytes() as [UInt8])
        var batch = ByteBuffer()
        for id: UInt32 in 1...5 {
            let frame = Frame(type: .request, method: .verify, correlationID: id, payload: payload)
            batch.writeFrameHeader(frame.header)
            batch.writeImmutableBuffer(payload)
        }
        try await connection.send(batch)
        let deadline = ContinuousClock.now + .seconds(20)
        while connection.frames.count < 5 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let answers = connection.frames
        #expect(answers.count == 5)
        let refused = answers.filter {
            $0.header.type == .error && RawConnection.status(of: $0)?.reason == "too_many_calls"
        }
        let answered = answers.filter { $0.header.type == .response }
        #expect(refused.count == 3 && answered.count == 2)
        #expect(Set(answered.map(\.header.correlationID)) == [1, 2])
        // The refused verifications are recorded (asynchronously: wait a little).
        var limited = 0
        for _ in 0..<100 {
            let records = try await server.audit.entries(from: 0, to: await server.audit.size).map {
                try AuditRecord(encoded: $0)
            }
            limited = records.filter { $0.event == .limitExceeded && $0.detail == "too_many_calls:Verify" }.count
            if limited == 3 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(limited == 3)
        await connection.close()
        await server.stop()
    }

    @Test func duplicateCorrelationIDsEndTheConnection() async throws {
        let server = try await TestServer()
        let connection = try await self.raw(server)
        let photo = try TestJPEG.bytes(Paths.face("london_005__neutral.jpg"))
        var request = Simverify_V1_VerifyRequest()
        request.idCardImage = photo.withUnsafeBytes { Data($0) }
        request.selfieFrames = [request.idCardImage]
        request.consent.given = true
        let payload = ByteBuffer(bytes: try request.serializedBytes() as [UInt8])
        var both = ByteBuffer()
        for _ in 0..<2 {
            let frame = Frame(type: .request, method: .verify, correlationID: 5, payload: payload)
            both.writeFrameHeader(frame.header)
            both.writeImmutableBuffer(payload)
        }
        try await connection.send(both)
        // The first call, in flight, is answered before the goaway: every request gets one answer.
        let aborted = await connection.frame { $0.header.type == .error && $0.header.correlationID == 5 }
        #expect(
            aborted.flatMap(RawConnection.status).map { ($0.code, $0.reason) } ?? (.ok, "") == (
                .aborted, "connection_closed"
            )
        )
        #expect(aborted?.header.method == .verify)
        await self.expectGoaway(connection, reason: "duplicate_correlation_id")
        #expect(connection.frames.filter { $0.header.correlationID == 5 }.count == 1)
        await server.stop()
    }

    @Test func cancelAndDeadlineAnswerTheCall() async throws {
        let server = try await TestServer()
        let connection = try await self.raw(server)
        let photo = try TestJPEG.bytes(Paths.face("obama__2012_official_portrait.jpg"))
        var request = Simverify_V1_VerifyRequest()
        request.idCardImage = photo.withUnsafeBytes { Data($0) }
        request.selfieFrames = [request.idCardImage]
        request.consent.given = true
        let payload = ByteBuffer(bytes: try request.serializedBytes() as [UInt8])
        try await connection.send(Frame(type: .request, method: .verify, correlationID: 1, payload: payload))
        // A cancel naming another method than its call's is ignored; one naming 0 or the call's cancels.
        try await connection.send(Frame(type: .cancel, method: .health, correlationID: 1, payload: ByteBuffer()))
        try await connection.send(Frame(type: .cancel, correlationID: 1, payload: ByteBuffer()))
        let cancelled = await connection.frame { $0.header.correlationID == 1 }
        #expect(cancelled?.header.type == .error && cancelled.flatMap(RawConnection.status)?.code == .cancelled)
        #expect(cancelled.flatMap(RawConnection.status)?.reason == "cancelled" && cancelled?.header.method == .verify)
        try await connection.send(
            Frame(type: .request, method: .verify, correlationID: 2, deadlineMilliseconds: 1, payload: payload)
        )
        let late = await connection.frame { $0.header.correlationID == 2 }
        #expect(late?.header.type == .error && late.flatMap(RawConnection.status)?.code == .deadlineExceeded)
        #expect(late.flatMap(RawConnection.status)?.reason == "deadline_exceeded")
        try await Task.sleep(for: .milliseconds(500))
        #expect(connection.frames.filter { $0.header.correlationID <= 2 }.count == 2, "exactly one answer per call")
        // Both calls were abandoned long before the engine had a decision: nothing was decided,
        // so nothing was recorded (a call abandoned after its record is marked undelivered).
        #expect(await server.audit.size == 0)
        await connection.close()
        await server.stop()
    }

    @Test func healthPayloadsAreParsed() async throws {
        let server = try await TestServer()
        let connection = try await self.raw(server)
        try await connection.send(
            Frame(type: .request, method: .health, correlationID: 3, payload: ByteBuffer(bytes: [0xFF, 0xFF, 0xFF]))
        )
        let refused = await connection.frame { $0.header.correlationID == 3 }
        #expect(refused?.header.type == .error && refused.flatMap(RawConnection.status)?.reason == "malformed_payload")
        try await connection.send(Frame(type: .request, method: .health, correlationID: 4, payload: ByteBuffer()))
        #expect(
            await connection.frame { $0.header.correlationID == 4 }?.header.type == .response,
            "the connection stays open"
        )
        await connection.close()
        await server.stop()
    }
}
